#include "server/core/session_config.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace mine {
namespace {

// FNV-1a: a seed that is the same on every build and platform, unlike
// std::hash.
uint64_t StableHash(absl::string_view text) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

absl::Status OutOfRange(absl::string_view field, absl::string_view value,
                        absl::string_view range) {
  return absl::InvalidArgumentError(absl::StrCat(
      "config.", field, " = ", value, " is out of range: ", range));
}

std::string DescribeAlerts(const AlertRules& rules) {
  std::string out;
  if (rules.threshold_enabled) {
    absl::StrAppend(&out, " alert_",
                    rules.direction == AlertRules::Direction::kBelow ? "below=" : "above=",
                    rules.threshold_nats, " hysteresis=", rules.hysteresis_nats);
  }
  if (rules.change_k > 0) {
    absl::StrAppend(&out, " alert_change_k=", rules.change_k,
                    " reference=", rules.reference_estimates);
  }
  return out;
}

}  // namespace

bool operator==(const SessionConfig& a, const SessionConfig& b) {
  return a.x_dim == b.x_dim && a.z_dim == b.z_dim &&
         a.estimator == b.estimator && a.hidden_units == b.hidden_units &&
         a.activation == b.activation && a.learning_rate == b.learning_rate &&
         a.batch_size == b.batch_size && a.ema_rate == b.ema_rate &&
         a.window_size == b.window_size &&
         a.holdout_fraction == b.holdout_fraction && a.seed == b.seed &&
         a.smile_clip == b.smile_clip &&
         a.marginal_sampling == b.marginal_sampling &&
         a.input_normalization == b.input_normalization && a.alert_rules == b.alert_rules;
}

absl::string_view EstimatorName(EstimatorKind kind) {
  switch (kind) {
    case EstimatorKind::kMine: return "MINE";
    case EstimatorKind::kMineF: return "MINE_F";
    case EstimatorKind::kInfoNce: return "INFONCE";
    case EstimatorKind::kSmile: return "SMILE";
    case EstimatorKind::kUnspecified: break;
  }
  return "UNSPECIFIED";
}

absl::string_view ActivationName(Activation activation) {
  switch (activation) {
    case Activation::kRelu: return "relu";
    case Activation::kElu: return "elu";
    case Activation::kTanh: return "tanh";
    case Activation::kUnspecified: break;
  }
  return "unspecified";
}

absl::string_view MarginalSamplingName(MarginalSampling sampling) {
  switch (sampling) {
    case MarginalSampling::kShuffleBatch: return "shuffle_batch";
    case MarginalSampling::kWindow: return "window";
    case MarginalSampling::kUnspecified: break;
  }
  return "unspecified";
}

absl::string_view InputNormalizationName(InputNormalization normalization) {
  switch (normalization) {
    case InputNormalization::kStandardize: return "standardize";
    case InputNormalization::kQuantile: return "quantile";
    case InputNormalization::kUnspecified: break;
  }
  return "unspecified";
}

absl::StatusOr<EstimatorKind> ParseEstimator(absl::string_view name) {
  const std::string upper = absl::AsciiStrToUpper(name);
  for (EstimatorKind kind : {EstimatorKind::kMine, EstimatorKind::kMineF,
                             EstimatorKind::kInfoNce, EstimatorKind::kSmile}) {
    if (upper == EstimatorName(kind)) return kind;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown estimator '", name, "'; expected MINE, MINE_F, INFONCE or SMILE"));
}

SessionConfig DefaultSessionConfig() {
  SessionConfig config;
  config.estimator = EstimatorKind::kMine;
  config.hidden_units = {128, 128};
  config.activation = Activation::kElu;
  config.learning_rate = 1e-3;
  config.batch_size = 256;
  config.ema_rate = 0.01;
  config.window_size = 65536;
  config.holdout_fraction = 0.2;
  config.smile_clip = 5.0;
  config.marginal_sampling = MarginalSampling::kShuffleBatch;
  config.input_normalization = InputNormalization::kQuantile;
  return config;
}

absl::StatusOr<SessionConfig> ResolveSessionConfig(
    const SessionConfig& requested, absl::string_view session_id,
    const ConfigLimits& limits) {
  const SessionConfig defaults = DefaultSessionConfig();
  SessionConfig c = requested;

  if (c.x_dim < 1 || c.x_dim > limits.max_dim) {
    return OutOfRange("x_dim", absl::StrCat(c.x_dim),
                      absl::StrCat("required, 1..", limits.max_dim));
  }
  if (c.z_dim < 1 || c.z_dim > limits.max_dim) {
    return OutOfRange("z_dim", absl::StrCat(c.z_dim),
                      absl::StrCat("required, 1..", limits.max_dim));
  }
  if (c.estimator == EstimatorKind::kUnspecified) c.estimator = defaults.estimator;
  if (EstimatorName(c.estimator) == "UNSPECIFIED") {
    return OutOfRange("estimator", absl::StrCat(static_cast<int>(c.estimator)),
                      "MINE, MINE_F, INFONCE or SMILE");
  }
  if (c.hidden_units.empty()) c.hidden_units = defaults.hidden_units;
  if (static_cast<int>(c.hidden_units.size()) > limits.max_hidden_layers) {
    return OutOfRange("hidden_units", absl::StrCat(c.hidden_units.size(), " layers"),
                      absl::StrCat("at most ", limits.max_hidden_layers, " layers"));
  }
  for (size_t i = 0; i < c.hidden_units.size(); ++i) {
    if (c.hidden_units[i] < 1 || c.hidden_units[i] > limits.max_hidden_units) {
      return OutOfRange(absl::StrCat("hidden_units[", i, "]"),
                        absl::StrCat(c.hidden_units[i]),
                        absl::StrCat("1..", limits.max_hidden_units));
    }
  }
  int64_t parameters = 0;
  int64_t fan_in = int64_t{c.x_dim} + c.z_dim;
  for (int units : c.hidden_units) {
    parameters += (fan_in + 1) * units;
    fan_in = units;
  }
  parameters += fan_in + 1;
  if (parameters > limits.max_network_parameters) {
    return OutOfRange("hidden_units", absl::StrJoin(c.hidden_units, ","),
                      absl::StrCat("the network would have ", parameters,
                                   " parameters; at most ", limits.max_network_parameters));
  }
  if (c.activation == Activation::kUnspecified) c.activation = defaults.activation;
  if (ActivationName(c.activation) == "unspecified") {
    return OutOfRange("activation", absl::StrCat(static_cast<int>(c.activation)),
                      "relu, elu or tanh");
  }
  if (c.learning_rate == 0) c.learning_rate = defaults.learning_rate;
  if (!std::isfinite(c.learning_rate) || c.learning_rate <= 0 || c.learning_rate > 1) {
    return OutOfRange("learning_rate", absl::StrCat(c.learning_rate), "(0, 1]");
  }
  if (c.batch_size == 0) c.batch_size = defaults.batch_size;
  if (c.batch_size < 2 || c.batch_size > limits.max_batch_size) {
    return OutOfRange("batch_size", absl::StrCat(c.batch_size),
                      absl::StrCat("2..", limits.max_batch_size));
  }
  if (c.estimator == EstimatorKind::kInfoNce) {
    const int64_t widest = *std::max_element(c.hidden_units.begin(), c.hidden_units.end());
    const int64_t values = int64_t{c.batch_size} * c.batch_size * widest;
    if (values > limits.max_score_matrix_values) {
      return OutOfRange("batch_size", absl::StrCat(c.batch_size),
                        absl::StrCat("INFONCE scores batch_size^2 pairs: batch_size^2 * widest "
                                     "hidden layer must be at most ",
                                     limits.max_score_matrix_values));
    }
  }
  if (c.ema_rate == 0) c.ema_rate = defaults.ema_rate;
  if (!std::isfinite(c.ema_rate) || c.ema_rate <= 0 || c.ema_rate > 1) {
    return OutOfRange("ema_rate", absl::StrCat(c.ema_rate), "(0, 1]");
  }
  if (c.holdout_fraction == 0) c.holdout_fraction = defaults.holdout_fraction;
  if (!std::isfinite(c.holdout_fraction) || c.holdout_fraction < 0.01 ||
      c.holdout_fraction > 0.5) {
    return OutOfRange("holdout_fraction", absl::StrCat(c.holdout_fraction),
                      "[0.01, 0.5]");
  }
  if (c.window_size == 0) c.window_size = defaults.window_size;
  // The training part of the window must hold at least one batch.
  const int min_window = static_cast<int>(
      std::ceil(2.0 * c.batch_size / (1.0 - c.holdout_fraction)));
  if (c.window_size < min_window || c.window_size > limits.max_window_size) {
    return OutOfRange("window_size", absl::StrCat(c.window_size),
                      absl::StrCat(min_window, "..", limits.max_window_size,
                                   " (at least two batches of training rows)"));
  }
  const int64_t window_values =
      int64_t{c.window_size} * (int64_t{c.x_dim} + c.z_dim);
  if (window_values > limits.max_window_values) {
    return OutOfRange("window_size", absl::StrCat(c.window_size),
                      absl::StrCat("window_size * (x_dim + z_dim) must be at most ",
                                   limits.max_window_values));
  }
  if (c.seed == 0) {
    c.seed = StableHash(session_id);
    if (c.seed == 0) c.seed = 1;
  }
  if (c.smile_clip == 0) c.smile_clip = defaults.smile_clip;
  if (!std::isfinite(c.smile_clip) || c.smile_clip <= 0 || c.smile_clip > 50) {
    return OutOfRange("smile_clip", absl::StrCat(c.smile_clip), "(0, 50]");
  }
  if (c.marginal_sampling == MarginalSampling::kUnspecified) {
    c.marginal_sampling = defaults.marginal_sampling;
  }
  if (MarginalSamplingName(c.marginal_sampling) == "unspecified") {
    return OutOfRange("marginal_sampling",
                      absl::StrCat(static_cast<int>(c.marginal_sampling)),
                      "shuffle_batch or window");
  }
  if (c.input_normalization == InputNormalization::kUnspecified) {
    c.input_normalization = defaults.input_normalization;
  }
  if (InputNormalizationName(c.input_normalization) == "unspecified") {
    return OutOfRange("input_normalization",
                      absl::StrCat(static_cast<int>(c.input_normalization)),
                      "standardize or quantile");
  }
  if (c.alert_rules.reference_estimates == 0) {
    c.alert_rules.reference_estimates = AlertRules::kDefaultReferenceEstimates;
  }
  if (absl::Status s = ValidateAlertRules(c.alert_rules); !s.ok()) return s;
  return c;
}

std::string DescribeConfig(const SessionConfig& c) {
  return absl::StrCat(
      EstimatorName(c.estimator), " x_dim=", c.x_dim, " z_dim=", c.z_dim,
      " hidden=", absl::StrJoin(c.hidden_units, "-"), " ",
      ActivationName(c.activation), " lr=", c.learning_rate,
      " batch=", c.batch_size, " ema=", c.ema_rate, " window=", c.window_size,
      " holdout=", c.holdout_fraction, " seed=", c.seed,
      " smile_clip=", c.smile_clip, " marginals=",
      MarginalSamplingName(c.marginal_sampling),
      " inputs=", InputNormalizationName(c.input_normalization), DescribeAlerts(c.alert_rules));
}

}  // namespace mine
