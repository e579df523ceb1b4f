#include "server/core/alert_evaluator.h"

#include <cmath>

#include "absl/strings/str_format.h"
#include "server/core/internal/byte_io.h"

namespace mine {

void AlertEvaluator::SaveTo(internal::ByteWriter* out) const {
  out->Bool(firing_);
  out->I64(reference_count_);
  out->F64(reference_sum_);
  out->F64(reference_se_sq_sum_);
}

bool AlertEvaluator::LoadFrom(internal::ByteReader* in) {
  return in->Bool(&firing_) && in->Int(&reference_count_) && reference_count_ >= 0 &&
         in->F64(&reference_sum_) && in->F64(&reference_se_sq_sum_);
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

  if (rules_.change_k > 0) {
    if (reference_count_ < rules_.reference_estimates) {
      ++reference_count_;
      reference_sum_ += mi;
      reference_se_sq_sum_ += estimate.std_error_nats * estimate.std_error_nats;
    } else {
      const double mean = reference_sum_ / reference_count_;
      // The reference mean's own standard error: mean se^2 over n estimates.
      const double reference_se_sq = reference_se_sq_sum_ / reference_count_ / reference_count_;
      const double se =
          std::sqrt(estimate.std_error_nats * estimate.std_error_nats + reference_se_sq);
      if (std::abs(mi - mean) > rules_.change_k * se) {
        event(AlertEvent::Kind::kChange, mean,
              absl::StrFormat("MI moved from %.4g to %.4g nats (%.1f standard errors > k=%g)", mean,
                              mi, se > 0 ? std::abs(mi - mean) / se : INFINITY, rules_.change_k));
        reference_count_ = 0;
        reference_sum_ = 0;
        reference_se_sq_sum_ = 0;
      }
    }
  }
  return events;
}

}  // namespace mine
