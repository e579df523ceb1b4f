#ifndef SERVER_CORE_ESTIMATE_H_
#define SERVER_CORE_ESTIMATE_H_

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/core/alert_event.h"
#include "server/core/session_config.h"

namespace mine {

enum class EstimateState {
  kWarmingUp = 1,         // too little data or training to say anything yet
  kTraining = 2,          // estimate still moving
  kConverged = 3,         // held-out estimate has plateaued (see PlateauDetector)
  kDivergedRecovered = 4, // training hit NaN/Inf; rolled back, learning rate lowered
};

absl::string_view EstimateStateName(EstimateState state);

// One published estimate of a session's mutual information, evaluated on
// held-out rows that the network never trained on. Plain value type.
struct Estimate {
  double mi_nats = 0;
  double std_error_nats = 0;   // of mi_nats, over the held-out rows
  double ci_low_nats = 0;      // 95% interval: mi_nats -/+ 1.96 std errors
  double ci_high_nats = 0;
  // The most the bound can report (log of the batch size for INFONCE);
  // 0 when the bound has no cap.
  double cap_nats = 0;
  int64_t samples_seen = 0;    // rows in the session when this was computed
  int64_t train_steps = 0;
  int64_t last_sequence = 0;   // highest client sequence applied
  int64_t evaluation_rows = 0; // held-out rows the value was computed on
  int32_t divergence_recoveries = 0;
  double learning_rate = 0;    // current; lowered after each recovery
  EstimatorKind estimator = EstimatorKind::kMine;
  EstimateState state = EstimateState::kWarmingUp;
  absl::Time computed_at = absl::UnixEpoch();
  uint64_t version = 0;        // increases with every publication
  // The alerts publishing this estimate raised (usually none), oldest first.
  std::vector<AlertEvent> alerts;

  double mi_bits() const;
};

}  // namespace mine

#endif  // SERVER_CORE_ESTIMATE_H_
