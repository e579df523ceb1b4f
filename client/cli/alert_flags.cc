#include "client/cli/alert_flags.h"

#include "absl/strings/str_cat.h"

namespace mine::cli {

absl::Status AlertRulesFromFlags(const CommandLine& f, v1::SessionConfig* config) {
  if (f.Has("alert-above") && f.Has("alert-below")) {
    return absl::InvalidArgumentError("--alert-above and --alert-below: choose one");
  }
  const bool threshold = f.Has("alert-above") || f.Has("alert-below");
  if (!threshold && f.Has("alert-hysteresis")) {
    return absl::InvalidArgumentError(
        "--alert-hysteresis needs --alert-above or --alert-below");
  }
  if (!f.Has("alert-change-k") && f.Has("alert-reference")) {
    return absl::InvalidArgumentError("--alert-reference needs --alert-change-k");
  }
  if (threshold) {
    const std::string flag = f.Has("alert-above") ? "alert-above" : "alert-below";
    absl::StatusOr<double> line = f.Double(flag, 0);
    absl::StatusOr<double> hysteresis = f.Double("alert-hysteresis", 0);
    if (!line.ok()) return line.status();
    if (!hysteresis.ok()) return hysteresis.status();
    v1::ThresholdRule* rule = config->mutable_alert_rules()->mutable_threshold();
    rule->set_direction(flag == "alert-above" ? v1::ABOVE : v1::BELOW);
    rule->set_threshold_nats(*line);
    rule->set_hysteresis_nats(*hysteresis);
  }
  if (f.Has("alert-change-k")) {
    absl::StatusOr<double> k = f.Double("alert-change-k", 0);
    absl::StatusOr<int64_t> reference = f.Int("alert-reference", 0);
    if (!k.ok()) return k.status();
    if (!reference.ok()) return reference.status();
    if (*reference < 0 || *reference > 1000) {
      return absl::InvalidArgumentError(
          absl::StrCat("--alert-reference ", *reference, " is out of range: 1..1000"));
    }
    v1::ChangeRule* rule = config->mutable_alert_rules()->mutable_change();
    rule->set_k(*k);
    rule->set_reference_estimates(static_cast<int32_t>(*reference));
  }
  return absl::OkStatus();
}

}  // namespace mine::cli
