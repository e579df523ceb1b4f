#include "client/cli/command_support.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/cli/alert_flags.h"

namespace mine::cli {

std::unique_ptr<MineClient> MakeClient(const CommandContext& context) {
  MineClientOptions options;
  options.timeout = context.timeout;
  options.bearer_token = context.token;
  return std::make_unique<MineClient>(context.channel, options);
}

std::string SessionIdArg(const CommandContext& context) {
  std::string id = context.flags->String("session");
  if (id.empty() && !context.flags->positionals().empty() && context.command != "push" &&
      context.command != "stream") {
    id = context.flags->positionals()[0];
  }
  return id;
}

namespace {

template <typename Enum>
absl::Status ParseEnum(const CommandContext& context, const std::string& flag,
                       bool (*parse)(const std::string&, Enum*), Enum* out) {
  if (!context.flags->Has(flag)) return absl::OkStatus();
  const std::string value = absl::AsciiStrToUpper(context.flags->String(flag));
  if (!parse(value, out)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": unknown value '", context.flags->String(flag), "'"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::SessionConfig> ConfigFromFlags(const CommandContext& context, int x_dim,
                                                  int z_dim) {
  const CommandLine& f = *context.flags;
  v1::SessionConfig config;
  absl::StatusOr<int64_t> xd = f.Int("x-dim", x_dim);
  absl::StatusOr<int64_t> zd = f.Int("z-dim", z_dim);
  absl::StatusOr<double> lr = f.Double("learning-rate", 0);
  absl::StatusOr<int64_t> batch = f.Int("batch-size", 0);
  absl::StatusOr<int64_t> window = f.Int("window", 0);
  absl::StatusOr<double> holdout = f.Double("holdout", 0);
  absl::StatusOr<int64_t> seed = f.Int("seed", 0);
  absl::StatusOr<double> ema = f.Double("ema-rate", 0);
  absl::StatusOr<double> clip = f.Double("smile-clip", 0);
  for (const absl::Status& s : {xd.status(), zd.status(), lr.status(), batch.status(),
                                window.status(), holdout.status(), seed.status(), ema.status(),
                                clip.status()}) {
    if (!s.ok()) return s;
  }
  if (x_dim > 0 && *xd != x_dim) {
    return absl::InvalidArgumentError(absl::StrCat("--x-dim ", *xd, " disagrees with the ",
                                                   x_dim, " x columns selected"));
  }
  if (z_dim > 0 && *zd != z_dim) {
    return absl::InvalidArgumentError(absl::StrCat("--z-dim ", *zd, " disagrees with the ",
                                                   z_dim, " z columns selected"));
  }
  if (*xd < 1 || *zd < 1) return absl::InvalidArgumentError("--x-dim and --z-dim are required");
  config.set_x_dim(static_cast<int32_t>(*xd));
  config.set_z_dim(static_cast<int32_t>(*zd));
  config.set_learning_rate(*lr);
  config.set_batch_size(static_cast<int32_t>(*batch));
  config.set_window_size(static_cast<int32_t>(*window));
  config.set_holdout_fraction(*holdout);
  config.set_seed(static_cast<uint64_t>(*seed));
  config.set_ema_rate(*ema);
  config.set_smile_clip(*clip);
  if (f.Has("hidden")) {
    for (absl::string_view part : absl::StrSplit(f.String("hidden"), ',', absl::SkipEmpty())) {
      int units = 0;
      if (!absl::SimpleAtoi(part, &units) || units < 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--hidden must be layer widths like 64,64, got '", f.String("hidden"), "'"));
      }
      config.add_hidden_units(units);
    }
  }
  v1::Estimator estimator = v1::ESTIMATOR_UNSPECIFIED;
  v1::Activation activation = v1::ACTIVATION_UNSPECIFIED;
  v1::MarginalSampling marginal = v1::MARGINAL_SAMPLING_UNSPECIFIED;
  v1::InputNormalization normalization = v1::INPUT_NORMALIZATION_UNSPECIFIED;
  absl::Status s = ParseEnum(context, "estimator", &v1::Estimator_Parse, &estimator);
  if (s.ok()) s = ParseEnum(context, "activation", &v1::Activation_Parse, &activation);
  if (s.ok()) s = ParseEnum(context, "marginal", &v1::MarginalSampling_Parse, &marginal);
  if (s.ok()) {
    s = ParseEnum(context, "input-normalization", &v1::InputNormalization_Parse, &normalization);
  }
  if (!s.ok()) return s;
  config.set_estimator(estimator);
  config.set_activation(activation);
  config.set_marginal_sampling(marginal);
  config.set_input_normalization(normalization);
  if (absl::Status alerts = AlertRulesFromFlags(f, &config); !alerts.ok()) return alerts;
  return config;
}

}  // namespace mine::cli
