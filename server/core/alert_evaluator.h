#ifndef SERVER_CORE_ALERT_EVALUATOR_H_
#define SERVER_CORE_ALERT_EVALUATOR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "server/core/estimate.h"

namespace mine {

// Per-session dependence alert rules. All off by default.
struct AlertRules {
  enum class Direction { kAbove, kBelow };
  // Threshold rule: fires when the estimate goes above (kAbove) or below
  // (kBelow) threshold_nats, and resolves only once it is back past
  // threshold_nats -/+ hysteresis_nats, so noise around the line does not
  // flap. Off unless threshold_enabled.
  bool threshold_enabled = false;
  Direction direction = Direction::kAbove;
  double threshold_nats = 0;
  double hysteresis_nats = 0;  // >= 0
  // Change rule: the mean of the first reference_estimates estimates (after
  // warm-up, or after the last change alert) is the reference; the rule
  // fires when an estimate differs from it by more than change_k combined
  // standard errors (sqrt(se^2 + se_ref^2)), then takes a new reference from
  // the estimates that follow. Off when change_k is 0.
  double change_k = 0;          // >= 0
  int reference_estimates = 5;  // 1..1000
};

// One alert event.
struct AlertEvent {
  enum class Kind { kThresholdFiring, kThresholdResolved, kChange };
  Kind kind;
  double mi_nats = 0;         // the estimate that triggered it
  double reference_nats = 0;  // threshold, or the change rule's reference mean
  int64_t samples_seen = 0;
  uint64_t estimate_version = 0;
  std::string message;  // one line for people
};

// InvalidArgument naming the field when a rule is out of range.
absl::Status ValidateAlertRules(const AlertRules& rules);

// Applies AlertRules to a session's estimates, in publication order. Only
// estimates past warm-up (kTraining, kConverged, kDivergedRecovered) count.
// Not thread-safe: one caller at a time (e.g. under a subscription lock).
//
//   AlertEvaluator alerts(rules);
//   for (const AlertEvent& e : alerts.Observe(estimate)) Deliver(e);
class AlertEvaluator {
 public:
  explicit AlertEvaluator(const AlertRules& rules) : rules_(rules) {}

  // The events this estimate triggers (usually none).
  std::vector<AlertEvent> Observe(const Estimate& estimate);

  bool threshold_firing() const { return firing_; }

 private:
  const AlertRules rules_;
  bool firing_ = false;
  int reference_count_ = 0;         // estimates in the reference so far
  double reference_sum_ = 0;        // of mi_nats
  double reference_se_sq_sum_ = 0;  // of std_error_nats^2
};

std::string AlertKindName(AlertEvent::Kind kind);

}  // namespace mine

#endif  // SERVER_CORE_ALERT_EVALUATOR_H_
