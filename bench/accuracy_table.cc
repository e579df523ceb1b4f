// mine-accuracy: each bound against closed-form MI on fixed datasets, over
// several seeds. Prints a Markdown table (docs/ACCURACY.md is its output).
//
//   build/bench/mine-accuracy --seeds 3 --rows 20000 --max_steps 4000
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/synthetic_data.h"
#include "server/core/session.h"
#include "server/core/torch_runtime.h"

ABSL_FLAG(int, seeds, 3, "seeds per case");
ABSL_FLAG(int64_t, rows, 20000, "rows per dataset (all in the window)");
ABSL_FLAG(int64_t, max_steps, 4000, "training steps at most (stops earlier when converged)");
ABSL_FLAG(std::string, estimators, "MINE,MINE_F,INFONCE,SMILE", "bounds to run");
ABSL_FLAG(std::string, cases, "", "comma-separated case names to run; empty = all");
ABSL_FLAG(std::string, hidden, "", "hidden units, e.g. 128-128; empty = default");
ABSL_FLAG(double, learning_rate, 0, "0 = default");
ABSL_FLAG(int, batch_size, 0, "0 = default");
ABSL_FLAG(std::string, inputs, "", "standardize or quantile; empty = default");
ABSL_FLAG(int, plateau_span, 0, "evaluations per half of the convergence rule; 0 = default");
ABSL_FLAG(bool, trace, false, "print every published estimate to stderr");
ABSL_FLAG(std::string, activation, "", "relu, elu, tanh; empty = default");

namespace {

using Case = mine::GaussianCase;

std::vector<Case> AllCases() {
  using mine::Transform;
  return {
      {"d1_rho0.5", 1, 0.5, Transform::kNone},   {"d1_rho0.9", 1, 0.9, Transform::kNone},
      {"d2_rho0.8", 2, 0.8, Transform::kNone},   {"d5_rho0.5", 5, 0.5, Transform::kNone},
      {"d5_rho0.8", 5, 0.8, Transform::kNone},   {"d1_indep", 1, 0.0, Transform::kNone},
      {"d5_indep", 5, 0.0, Transform::kNone},    {"d2_rho0.8_cube", 2, 0.8, Transform::kCube},
      {"d2_rho0.8_cdf", 2, 0.8, Transform::kNormalCdf},
      {"d20_rho0.3", 20, 0.3, Transform::kNone},
      {"d5_rho0.8_asinh", 5, 0.8, Transform::kAsinh},
      {"d10_rho0.9", 10, 0.9, Transform::kNone},
  };
}

struct Result {
  double estimate;
  double std_error;
  int64_t steps;
  double seconds;
};

Result RunOnce(const Case& c, mine::EstimatorKind estimator, uint64_t seed) {
  const int64_t rows = absl::GetFlag(FLAGS_rows);
  mine::CorrelatedGaussian data(c.dim, c.rho, c.transform, seed);
  std::vector<float> x, z;
  data.Fill(rows, &x, &z);

  mine::SessionConfig config;
  config.x_dim = c.dim;
  config.z_dim = c.dim;
  config.estimator = estimator;
  config.window_size = static_cast<int>(rows);
  config.seed = seed;
  config.learning_rate = absl::GetFlag(FLAGS_learning_rate);
  config.batch_size = absl::GetFlag(FLAGS_batch_size);
  if (!absl::GetFlag(FLAGS_hidden).empty()) {
    for (absl::string_view part : absl::StrSplit(absl::GetFlag(FLAGS_hidden), '-')) {
      config.hidden_units.push_back(std::stoi(std::string(part)));
    }
  }
  const std::string activation = absl::GetFlag(FLAGS_activation);
  if (activation == "relu") config.activation = mine::Activation::kRelu;
  if (activation == "elu") config.activation = mine::Activation::kElu;
  if (activation == "tanh") config.activation = mine::Activation::kTanh;
  const std::string inputs = absl::GetFlag(FLAGS_inputs);
  if (inputs == "standardize") config.input_normalization = mine::InputNormalization::kStandardize;
  if (inputs == "quantile") config.input_normalization = mine::InputNormalization::kQuantile;

  mine::SessionOptions options;
  // Slices of exactly 50 steps whatever the machine's load: the table is
  // deterministic for its seeds.
  options.max_slice_duration = absl::InfiniteDuration();
  if (absl::GetFlag(FLAGS_plateau_span) > 0) options.plateau_span = absl::GetFlag(FLAGS_plateau_span);
  auto session = mine::Session::Create("accuracy", config, /*pool=*/nullptr, options);
  if (!session.ok()) {
    std::fprintf(stderr, "%s\n", session.status().ToString().c_str());
    std::exit(2);
  }
  if (auto r = (*session)->Ingest(x, z); !r.ok()) {
    std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
    std::exit(2);
  }
  const absl::Time start = absl::Now();
  while ((*session)->RunSlice() &&
         (*session)->status().train_steps < absl::GetFlag(FLAGS_max_steps)) {
    if (absl::GetFlag(FLAGS_trace)) {
      const mine::Estimate e = (*session)->latest_estimate();
      std::fprintf(stderr, "%s %s seed %llu step %lld: %.3f (se %.3f) %s\n", c.name.c_str(),
                   std::string(mine::EstimatorName(estimator)).c_str(),
                   static_cast<unsigned long long>(seed), static_cast<long long>(e.train_steps),
                   e.mi_nats, e.std_error_nats, std::string(mine::EstimateStateName(e.state)).c_str());
    }
  }
  const mine::Estimate e = (*session)->latest_estimate();
  return {e.mi_nats, e.std_error_nats, e.train_steps, absl::ToDoubleSeconds(absl::Now() - start)};
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  mine::InitTorchRuntime();
  const std::vector<std::string> wanted =
      absl::StrSplit(absl::GetFlag(FLAGS_cases), ',', absl::SkipEmpty());
  std::printf("| case | truth | estimator | mean | bias | spread (sd) | mean SE | steps | s/run |\n"
              "|---|---|---|---|---|---|---|---|---|\n");
  for (const Case& c : AllCases()) {
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), c.name) == wanted.end()) {
      continue;
    }
    const double truth = mine::CorrelatedGaussian::TrueMiNats(c.dim, c.rho);
    for (absl::string_view name :
         absl::StrSplit(absl::GetFlag(FLAGS_estimators), ',', absl::SkipEmpty())) {
      const mine::EstimatorKind estimator = *mine::ParseEstimator(name);
      std::vector<Result> results;
      for (int s = 1; s <= absl::GetFlag(FLAGS_seeds); ++s) {
        results.push_back(RunOnce(c, estimator, static_cast<uint64_t>(s)));
      }
      double mean = 0, se = 0, steps = 0, seconds = 0;
      for (const Result& r : results) {
        mean += r.estimate / results.size();
        se += r.std_error / results.size();
        steps += static_cast<double>(r.steps) / results.size();
        seconds += r.seconds / results.size();
      }
      double var = 0;
      for (const Result& r : results) var += (r.estimate - mean) * (r.estimate - mean);
      const double sd = results.size() > 1 ? std::sqrt(var / (results.size() - 1)) : 0.0;
      std::printf("| %s | %.3f | %s | %.3f | %+.3f | %.3f | %.3f | %.0f | %.1f |\n",
                  c.name.c_str(), truth, std::string(name).c_str(), mean, mean - truth, sd, se,
                  steps, seconds);
      std::fflush(stdout);
    }
  }
  return 0;
}
