#ifndef SERVER_CORE_ALERT_EVALUATOR_H_
#define SERVER_CORE_ALERT_EVALUATOR_H_

#include <deque>
#include <utility>
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
//
// The change rule compares each estimate with a reference taken once the
// estimate has settled: of the last 2n estimates (n = reference_estimates),
// the mean of the newest n must be within max(se / 4, 0.01 nats) of the mean
// of the n before (PlateauDetector's rule for "stopped moving"); the newest
// n's mean is then the reference. Until then, and again after each change
// alert until the estimate settles at its new level, the rule is quiet, so
// training's own climb (at the start, or towards a new level after a change)
// is never reported as a change and one change fires once.
//
// Not thread-safe: one caller at a time (e.g. under the session's lock).
//
//   AlertEvaluator alerts(rules);
//   for (const AlertEvent& e : alerts.Observe(estimate)) Deliver(e);
class AlertEvaluator {
 public:
  explicit AlertEvaluator(const AlertRules& rules) : rules_(rules) {}

  // The events this estimate triggers (usually none).
  std::vector<AlertEvent> Observe(const Estimate& estimate);

  bool threshold_firing() const { return firing_; }

  // Whether the change rule has settled on a reference, and that reference.
  bool change_armed() const { return armed_; }
  double change_reference_nats() const { return reference_mean_; }

  // Checkpoint support: the firing state and the change rule's reference
  // (or the estimates towards it), so a restored session neither re-fires
  // nor forgets its reference.
  void SaveTo(internal::ByteWriter* out) const;
  bool LoadFrom(internal::ByteReader* in);

 private:
  const AlertRules rules_;
  // Returns the change alert `estimate` raises, if any; updates the reference.
  bool ObserveChange(const Estimate& estimate, double* reference, double* distance_se);

  bool firing_ = false;
  // Change rule: the recent estimates while settling, as (mi_nats, se^2),
  // at most 2n, newest at the back; then the reference they settled on.
  std::deque<std::pair<double, double>> recent_;
  bool armed_ = false;
  double reference_mean_ = 0;
  double reference_se_sq_ = 0;  // of the reference mean
};

}  // namespace mine

#endif  // SERVER_CORE_ALERT_EVALUATOR_H_
