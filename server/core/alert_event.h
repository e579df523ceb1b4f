#ifndef SERVER_CORE_ALERT_EVENT_H_
#define SERVER_CORE_ALERT_EVENT_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace mine {

// One dependence alert (see AlertEvaluator). Plain value type.
struct AlertEvent {
  enum class Kind { kThresholdFiring = 1, kThresholdResolved = 2, kChange = 3 };
  Kind kind = Kind::kChange;
  double mi_nats = 0;         // the estimate that triggered it
  double reference_nats = 0;  // threshold, or the change rule's reference mean
  int64_t samples_seen = 0;
  uint64_t estimate_version = 0;
  std::string message;                  // one line for people
  absl::Time time = absl::UnixEpoch();  // when the triggering estimate was computed
};

// "threshold_firing", "threshold_resolved" or "change".
std::string AlertKindName(AlertEvent::Kind kind);
// The rule an event comes from: "threshold" or "change".
std::string AlertRuleName(AlertEvent::Kind kind);

}  // namespace mine

#endif  // SERVER_CORE_ALERT_EVENT_H_
