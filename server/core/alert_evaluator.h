#ifndef SERVER_CORE_ALERT_EVALUATOR_H_
#define SERVER_CORE_ALERT_EVALUATOR_H_

#include <vector>

#include "server/core/alert_event.h"
#include "server/core/alert_rules.h"
#include "server/core/estimate.h"

namespace mine {
namespace internal {
class ByteReader;
class ByteWriter;
}  // namespace internal

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

  // Checkpoint support: the firing state and the change rule's reference so
  // far, so a restored session neither re-fires nor forgets its reference.
  void SaveTo(internal::ByteWriter* out) const;
  bool LoadFrom(internal::ByteReader* in);

 private:
  const AlertRules rules_;
  bool firing_ = false;
  int reference_count_ = 0;         // estimates in the reference so far
  double reference_sum_ = 0;        // of mi_nats
  double reference_se_sq_sum_ = 0;  // of std_error_nats^2
};

}  // namespace mine

#endif  // SERVER_CORE_ALERT_EVALUATOR_H_
