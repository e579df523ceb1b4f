#ifndef SERVER_CORE_ALERT_RULES_H_
#define SERVER_CORE_ALERT_RULES_H_

#include "absl/status/status.h"

namespace mine {

// Per-session dependence alert rules, part of the session's config. All off
// by default.
struct AlertRules {
  static constexpr int kDefaultReferenceEstimates = 5;
  static constexpr int kMaxReferenceEstimates = 1000;
  static constexpr double kMaxChangeK = 1000;

  enum class Direction { kAbove = 1, kBelow = 2 };
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
  double change_k = 0;  // 0 (off) or (0, kMaxChangeK]
  int reference_estimates = kDefaultReferenceEstimates;  // 1..kMaxReferenceEstimates

  bool any() const { return threshold_enabled || change_k > 0; }

  friend bool operator==(const AlertRules& a, const AlertRules& b);
  friend bool operator!=(const AlertRules& a, const AlertRules& b) { return !(a == b); }
};

// InvalidArgument naming the field (as config.alert_rules.<field>) when a
// rule is out of range.
absl::Status ValidateAlertRules(const AlertRules& rules);

}  // namespace mine

#endif  // SERVER_CORE_ALERT_RULES_H_
