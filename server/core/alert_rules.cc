#include "server/core/alert_rules.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace mine {
namespace {

absl::Status OutOfRange(absl::string_view field, double value, absl::string_view range) {
  return absl::InvalidArgumentError(absl::StrCat("config.alert_rules.", field, " = ", value,
                                                 " is out of range: ", range));
}

}  // namespace

bool operator==(const AlertRules& a, const AlertRules& b) {
  return a.threshold_enabled == b.threshold_enabled && a.direction == b.direction &&
         a.threshold_nats == b.threshold_nats && a.hysteresis_nats == b.hysteresis_nats &&
         a.change_k == b.change_k && a.reference_estimates == b.reference_estimates;
}

absl::Status ValidateAlertRules(const AlertRules& rules) {
  if (rules.threshold_enabled) {
    if (rules.direction != AlertRules::Direction::kAbove &&
        rules.direction != AlertRules::Direction::kBelow) {
      return OutOfRange("threshold.direction", static_cast<int>(rules.direction),
                        "ABOVE or BELOW");
    }
    if (!std::isfinite(rules.threshold_nats)) {
      return OutOfRange("threshold.threshold_nats", rules.threshold_nats, "a finite number");
    }
    if (!std::isfinite(rules.hysteresis_nats) || rules.hysteresis_nats < 0) {
      return OutOfRange("threshold.hysteresis_nats", rules.hysteresis_nats,
                        "finite and >= 0");
    }
  }
  if (!std::isfinite(rules.change_k) || rules.change_k < 0 ||
      rules.change_k > AlertRules::kMaxChangeK) {
    return OutOfRange("change.k", rules.change_k,
                      absl::StrCat("(0, ", AlertRules::kMaxChangeK, "]; 0 turns the rule off"));
  }
  if (rules.reference_estimates < 1 ||
      rules.reference_estimates > AlertRules::kMaxReferenceEstimates) {
    return OutOfRange("change.reference_estimates", rules.reference_estimates,
                      absl::StrCat("1..", AlertRules::kMaxReferenceEstimates));
  }
  return absl::OkStatus();
}

}  // namespace mine
