#include "server/core/alert_evaluator.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"
#include "server/core/internal/byte_io.h"
#include "server/core/plateau_detector.h"

namespace mine {

void AlertEvaluator::SaveTo(internal::ByteWriter* out) const {
  out->Bool(firing_);
  out->Bool(armed_);
  out->F64(reference_mean_);
  out->F64(reference_se_sq_);
  out->U64(recent_.size());
  for (const auto& [mi, se_sq] : recent_) {
    out->F64(mi);
    out->F64(se_sq);
  }
}

bool AlertEvaluator::LoadFrom(internal::ByteReader* in) {
  uint64_t recent;
  if (!in->Bool(&firing_) || !in->Bool(&armed_) || !in->F64(&reference_mean_) ||
      !in->F64(&reference_se_sq_) || !in->U64(&recent) ||
      recent > 2 * static_cast<uint64_t>(AlertRules::kMaxReferenceEstimates)) {
    return false;
  }
  recent_.clear();
  for (uint64_t i = 0; i < recent; ++i) {
    double mi, se_sq;
    if (!in->F64(&mi) || !in->F64(&se_sq)) return false;
    recent_.emplace_back(mi, se_sq);
  }
  return true;
}

bool AlertEvaluator::ObserveChange(const Estimate& estimate, double* reference,
                                   double* distance_se) {
  const double se_sq = estimate.std_error_nats * estimate.std_error_nats;
  if (armed_) {
    const double se = std::sqrt(se_sq + reference_se_sq_);
    const double distance = std::abs(estimate.mi_nats - reference_mean_);
    if (distance <= rules_.change_k * se) return false;
    *reference = reference_mean_;
    *distance_se = se > 0 ? distance / se : INFINITY;
    armed_ = false;  // settle at the new level before the next reference
    recent_.clear();
    return true;
  }
  const size_t n = static_cast<size_t>(rules_.reference_estimates);
  recent_.emplace_back(estimate.mi_nats, se_sq);
  if (recent_.size() > 2 * n) recent_.pop_front();
  if (recent_.size() < 2 * n) return false;
  double older = 0, newer = 0, newer_se_sq = 0;
  for (size_t i = 0; i < n; ++i) {
    older += recent_[i].first;
    newer += recent_[n + i].first;
    newer_se_sq += recent_[n + i].second;
  }
  older /= n;
  newer /= n;
  const double tolerance = std::max(PlateauDetector::kStdErrorFraction * estimate.std_error_nats,
                                    PlateauDetector::kMinGainNats);
  if (std::abs(newer - older) > tolerance) return false;
  armed_ = true;
  reference_mean_ = newer;
  // The reference mean's own standard error: mean se^2 over n estimates.
  reference_se_sq_ = newer_se_sq / n / n;
  recent_.clear();
  return false;
}

std::vector<AlertEvent> AlertEvaluator::Observe(const Estimate& estimate) {
  std::vector<AlertEvent> events;
  if (estimate.state == EstimateState::kWarmingUp || !std::isfinite(estimate.mi_nats)) {
    return events;
  }
  const double mi = estimate.mi_nats;
  auto event = [&](AlertEvent::Kind kind, double reference, std::string message) {
    AlertEvent e{kind,     mi, reference, estimate.samples_seen, estimate.version,
                 std::move(message), estimate.computed_at};
    events.push_back(std::move(e));
  };

  if (rules_.threshold_enabled) {
    const bool above = rules_.direction == AlertRules::Direction::kAbove;
    const double t = rules_.threshold_nats;
    const double h = rules_.hysteresis_nats;
    if (!firing_ && (above ? mi > t : mi < t)) {
      firing_ = true;
      event(AlertEvent::Kind::kThresholdFiring, t,
            absl::StrFormat("MI %.4g nats is %s the threshold %.4g", mi, above ? "above" : "below",
                            t));
    } else if (firing_ && (above ? mi < t - h : mi > t + h)) {
      firing_ = false;
      event(AlertEvent::Kind::kThresholdResolved, t,
            absl::StrFormat("MI %.4g nats is back %s %.4g (threshold %.4g, hysteresis %.4g)", mi,
                            above ? "below" : "above", above ? t - h : t + h, t, h));
    }
  }

  double reference = 0, distance_se = 0;
  if (rules_.change_k > 0 && ObserveChange(estimate, &reference, &distance_se)) {
    event(AlertEvent::Kind::kChange, reference,
          absl::StrFormat("MI moved from %.4g to %.4g nats (%.1f standard errors > k=%g)",
                          reference, mi, distance_se, rules_.change_k));
  }
  return events;
}

}  // namespace mine
