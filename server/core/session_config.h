#ifndef SERVER_CORE_SESSION_CONFIG_H_
#define SERVER_CORE_SESSION_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/core/alert_rules.h"

namespace mine {

// The lower bound a session maximises and reports.
enum class EstimatorKind {
  kUnspecified = 0,  // resolved to the server default (kMine)
  kMine = 1,         // Donsker-Varadhan with the bias-corrected (EMA) gradient
  kMineF = 2,        // f-divergence (NWJ) bound
  kInfoNce = 3,      // contrastive bound, capped at log(batch size)
  kSmile = 4,        // trained as Jensen-Shannon, reported as clipped DV
};

enum class Activation { kUnspecified = 0, kRelu = 1, kElu = 2, kTanh = 3 };

// How samples of the product of marginals are drawn for a training batch.
enum class MarginalSampling {
  kUnspecified = 0,
  kShuffleBatch = 1,  // pair each x with the z of another row of the batch
  kWindow = 2,        // draw z from the session's window independently of x
};

// How each coordinate is mapped before it reaches the statistics network.
// Both maps are invertible per coordinate, so neither changes the MI.
enum class InputNormalization {
  kUnspecified = 0,
  kStandardize = 1,  // (v - running mean) / running stddev
  kQuantile = 2,     // empirical CDF, then the normal quantile (QuantileNormalizer)
};

absl::string_view EstimatorName(EstimatorKind kind);
absl::string_view ActivationName(Activation activation);
absl::string_view MarginalSamplingName(MarginalSampling sampling);
absl::string_view InputNormalizationName(InputNormalization normalization);
absl::StatusOr<EstimatorKind> ParseEstimator(absl::string_view name);

// What one session estimates and how. Zero (or kUnspecified, or an empty
// hidden_units) means "use the default"; ResolveSessionConfig fills those in.
struct SessionConfig {
  int x_dim = 0;
  int z_dim = 0;
  EstimatorKind estimator = EstimatorKind::kUnspecified;
  std::vector<int> hidden_units;
  Activation activation = Activation::kUnspecified;
  double learning_rate = 0;
  int batch_size = 0;
  double ema_rate = 0;       // MINE only: rate of the moving average of E_Q[e^T]
  int window_size = 0;       // rows kept, training and held-out together
  double holdout_fraction = 0;
  uint64_t seed = 0;         // 0: derived from the session id
  double smile_clip = 0;     // SMILE only: tau in clip(T, -tau, tau)
  MarginalSampling marginal_sampling = MarginalSampling::kUnspecified;
  InputNormalization input_normalization = InputNormalization::kUnspecified;
  // Dependence alerts on this session's estimates. Part of the config so the
  // identity check on re-create, GetSession and checkpoints all include it.
  AlertRules alert_rules;

  friend bool operator==(const SessionConfig& a, const SessionConfig& b);
  friend bool operator!=(const SessionConfig& a, const SessionConfig& b) {
    return !(a == b);
  }
};

// Upper limits on everything a caller controls, so that no config can make
// the server allocate without bound.
struct ConfigLimits {
  int max_dim = 4096;               // per side
  int max_hidden_layers = 8;
  int max_hidden_units = 4096;      // per layer
  int max_batch_size = 8192;
  int max_window_size = 1 << 22;    // rows
  int64_t max_window_values = int64_t{1} << 26;  // rows * (x_dim + z_dim)
  int64_t max_network_parameters = int64_t{1} << 23;  // weights and biases of T
  // INFONCE holds batch_size^2 * widest layer activations at once.
  int64_t max_score_matrix_values = int64_t{1} << 26;
};

// The defaults most users never change. Chosen by the sweep in
// docs/ACCURACY.md (tools/sweep_defaults), not by one Gaussian.
SessionConfig DefaultSessionConfig();

// Returns `requested` with every unset field replaced by its default, or
// InvalidArgument naming the first field that is out of range.
// `session_id` seeds the RNG when `requested.seed` is 0.
absl::StatusOr<SessionConfig> ResolveSessionConfig(
    const SessionConfig& requested, absl::string_view session_id,
    const ConfigLimits& limits = ConfigLimits());

std::string DescribeConfig(const SessionConfig& config);

}  // namespace mine

#endif  // SERVER_CORE_SESSION_CONFIG_H_
