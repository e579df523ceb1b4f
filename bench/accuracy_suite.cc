// mine-accuracy-suite: each bound against closed-form MI, in an in-process
// core session (deterministic for a seed), written as CSV for
// bench/python/report.py. Also exports every dataset as CSV (with
// samples/manifest.csv) so that the Python MINE reference and KSG run on the
// very same samples, and runs the 2 -> 4 -> 6 -> 8 -> 10 nats staircase at
// d = 20 for tracking.
//
//   mine-accuracy-suite --out_dir results/x --seeds 5 --sizes 1000,2000,5000 --max_steps 1000
//
// Sweep method, for each case, seed and sample size N in --sizes: a fresh
// session (window N, holding out its default 20%) gets the first N rows of
// the seed's dataset at once and trains until CONVERGED or --max_steps; the
// row reports its last estimate. "Samples to within 10%" is computed from
// these rows by report.py (the smallest N from which every larger N is within).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/synthetic_data.h"
#include "server/core/session.h"
#include "server/core/torch_runtime.h"

ABSL_FLAG(std::string, out_dir, "", "where accuracy.csv, staircase.csv and samples/ go");
ABSL_FLAG(int, seeds, 3, "seeds per case (1..seeds)");
ABSL_FLAG(std::string, sizes, "1000,2000,5000", "sample sizes N: each run sees the first N rows");
ABSL_FLAG(int64_t, max_steps, 1000, "training steps at most");
ABSL_FLAG(std::string, estimators, "MINE,MINE_F,INFONCE,SMILE", "bounds to run");
ABSL_FLAG(std::string, cases, "", "comma-separated case names; empty = all");
ABSL_FLAG(bool, sweep, true, "run the sweep");
ABSL_FLAG(bool, export_samples, true,
          "write samples/CASE_seedS.csv (largest N rows) and samples/manifest.csv for the Python "
          "side, before the sweep");
ABSL_FLAG(std::string, staircase_estimators, "MINE,SMILE", "empty: no staircase");
ABSL_FLAG(int64_t, staircase_rows_per_level, 5120, "rows streamed per MI level");
ABSL_FLAG(int, staircase_chunk, 256, "rows streamed before each 50-step slice");
ABSL_FLAG(int, staircase_window, 4096, "window_size of the staircase session");
ABSL_FLAG(int, infonce_batch, 64,
          "INFONCE's batch_size (it scores batch^2 pairs per step; the default 256 costs ~100x a "
          "MINE step); its cap is log(batch)");
ABSL_FLAG(int64_t, infonce_max_steps, 500, "INFONCE's training steps at most");
ABSL_FLAG(std::string, infonce_sizes, "",
          "INFONCE's sample sizes (a step costs ~10x a MINE step); empty = --sizes");
ABSL_FLAG(std::string, variant_cases, "",
          "cases for the defaults sweep (MINE with one setting changed); empty: none");
ABSL_FLAG(int, variant_seeds, 3, "seeds of the defaults sweep");
ABSL_FLAG(std::string, accuracy_csv, "accuracy.csv", "sweep output file name in --out_dir");

namespace {

using Case = mine::GaussianCase;

std::vector<Case> AllCases() {
  using mine::Transform;
  return {
      {"d1_rho0.5", 1, 0.5, Transform::kNone},
      {"d1_rho0.9", 1, 0.9, Transform::kNone},
      {"d5_rho0.5", 5, 0.5, Transform::kNone},
      {"d5_rho0.8", 5, 0.8, Transform::kNone},
      {"d20_rho0.3", 20, 0.3, Transform::kNone},
      {"d20_rho0.5", 20, 0.5, Transform::kNone},
      {"d1_rho0.9_cube", 1, 0.9, Transform::kCube},
      {"d5_rho0.8_asinh", 5, 0.8, Transform::kAsinh},
      {"d20_rho0.3_cdf", 20, 0.3, Transform::kNormalCdf},
      {"d1_indep", 1, 0.0, Transform::kNone},
      {"d20_indep", 20, 0.0, Transform::kNone},
  };
}

// One departure from the server's defaults, for the sweep that backs them.
struct Variant {
  std::string name;
  std::function<void(mine::SessionConfig&)> apply;
};

std::vector<Variant> AllVariants() {
  using mine::SessionConfig;
  return {
      {"default", [](SessionConfig&) {}},
      {"net_100-100", [](SessionConfig& c) { c.hidden_units = {100, 100}; }},
      {"net_256-256", [](SessionConfig& c) { c.hidden_units = {256, 256}; }},
      {"relu", [](SessionConfig& c) { c.activation = mine::Activation::kRelu; }},
      {"batch_64", [](SessionConfig& c) { c.batch_size = 64; }},
      {"batch_1024", [](SessionConfig& c) { c.batch_size = 1024; }},
      {"lr_3e-4", [](SessionConfig& c) { c.learning_rate = 3e-4; }},
      {"lr_3e-3", [](SessionConfig& c) { c.learning_rate = 3e-3; }},
      {"standardize",
       [](SessionConfig& c) { c.input_normalization = mine::InputNormalization::kStandardize; }},
      {"smile", [](SessionConfig& c) { c.estimator = mine::EstimatorKind::kSmile; }},
  };
}

std::shared_ptr<mine::Session> NewSession(int dim, mine::EstimatorKind estimator, int window,
                                          uint64_t seed,
                                          const std::function<void(mine::SessionConfig&)>& tweak =
                                              nullptr) {
  mine::SessionConfig config;
  config.x_dim = dim;
  config.z_dim = dim;
  config.estimator = estimator;
  config.window_size = window;
  config.seed = seed;
  if (estimator == mine::EstimatorKind::kInfoNce) config.batch_size = absl::GetFlag(FLAGS_infonce_batch);
  if (tweak) tweak(config);
  mine::SessionOptions exact_slices;  // deterministic whatever the machine's load
  exact_slices.max_slice_duration = absl::InfiniteDuration();
  auto session = mine::Session::Create("accuracy", config, /*pool=*/nullptr, exact_slices);
  if (!session.ok()) {
    std::fprintf(stderr, "%s\n", session.status().ToString().c_str());
    std::exit(2);
  }
  return *session;
}

void Ingest(mine::Session& s, const float* x, const float* z, int64_t rows, int dim) {
  auto r = s.Ingest(absl::MakeConstSpan(x, rows * dim), absl::MakeConstSpan(z, rows * dim));
  if (!r.ok()) {
    std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
    std::exit(2);
  }
}

void ExportCsv(const std::string& path, const std::vector<float>& x, const std::vector<float>& z,
               int64_t rows, int dim) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    std::perror(path.c_str());
    std::exit(2);
  }
  for (int64_t r = 0; r < rows; ++r) {
    for (int i = 0; i < dim; ++i) std::fprintf(f, "%.7g,", x[r * dim + i]);
    for (int i = 0; i < dim; ++i) std::fprintf(f, i + 1 < dim ? "%.7g," : "%.7g\n", z[r * dim + i]);
  }
  std::fclose(f);
}

std::vector<int64_t> Sizes(const std::string& list = absl::GetFlag(FLAGS_sizes)) {
  std::vector<int64_t> sizes;
  for (absl::string_view part : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    int64_t n = 0;
    if (absl::SimpleAtoi(part, &n) && n > 0) sizes.push_back(n);
  }
  std::sort(sizes.begin(), sizes.end());
  return sizes;
}

std::vector<Case> WantedCases() {
  const std::vector<std::string> wanted =
      absl::StrSplit(absl::GetFlag(FLAGS_cases), ',', absl::SkipEmpty());
  std::vector<Case> out;
  for (const Case& c : AllCases()) {
    if (wanted.empty() || std::find(wanted.begin(), wanted.end(), c.name) != wanted.end()) {
      out.push_back(c);
    }
  }
  return out;
}

std::string SamplesPath(const Case& c, int seed) {
  return absl::StrCat("samples/", c.name, "_seed", seed, ".csv");
}

// The dataset of (case, seed): the first N rows of one stream, for every N.
void Dataset(const Case& c, int seed, int64_t rows, std::vector<float>* x, std::vector<float>* z) {
  mine::CorrelatedGaussian data(c.dim, c.rho, c.transform, seed);
  data.Fill(rows, x, z);
}

void ExportSamples(const std::string& out_dir) {
  const int64_t rows = Sizes().back();
  FILE* manifest = std::fopen((out_dir + "/samples/manifest.csv").c_str(), "w");
  std::fprintf(manifest, "case,dim,rho,transform,truth,seed,rows,samples_csv\n");
  for (const Case& c : WantedCases()) {
    for (int seed = 1; seed <= absl::GetFlag(FLAGS_seeds); ++seed) {
      std::vector<float> x, z;
      Dataset(c, seed, rows, &x, &z);
      ExportCsv(out_dir + "/" + SamplesPath(c, seed), x, z, rows, c.dim);
      std::fprintf(manifest, "%s,%d,%.3f,%s,%.4f,%d,%lld,%s\n", c.name.c_str(), c.dim, c.rho,
                   std::string(mine::TransformName(c.transform)).c_str(),
                   mine::CorrelatedGaussian::TrueMiNats(c.dim, c.rho), seed,
                   static_cast<long long>(rows), SamplesPath(c, seed).c_str());
    }
  }
  std::fclose(manifest);
}

// Gives a fresh session the first n rows at once and trains it in exact
// slices until CONVERGED or max_steps; returns its last estimate.
mine::Estimate TrainOn(mine::Session& session, const std::vector<float>& x,
                       const std::vector<float>& z, int64_t n, int dim, int64_t max_steps) {
  Ingest(session, x.data(), z.data(), n, dim);
  while (session.RunSlice() && session.status().train_steps < max_steps) {
  }
  return session.latest_estimate();
}

void Sweep(const std::string& out_dir) {
  const std::vector<int64_t> sizes = Sizes();
  const std::vector<int64_t> infonce_sizes = absl::GetFlag(FLAGS_infonce_sizes).empty()
                                                 ? sizes
                                                 : Sizes(absl::GetFlag(FLAGS_infonce_sizes));
  FILE* out = std::fopen((out_dir + "/" + absl::GetFlag(FLAGS_accuracy_csv)).c_str(), "w");
  std::fprintf(out, "case,dim,rho,transform,truth,estimator,seed,n,estimate,std_error,steps,"
                    "state,seconds\n");
  for (const Case& c : WantedCases()) {
    const double truth = mine::CorrelatedGaussian::TrueMiNats(c.dim, c.rho);
    for (int seed = 1; seed <= absl::GetFlag(FLAGS_seeds); ++seed) {
      std::vector<float> x, z;
      Dataset(c, seed, sizes.back(), &x, &z);
      for (absl::string_view name :
           absl::StrSplit(absl::GetFlag(FLAGS_estimators), ',', absl::SkipEmpty())) {
        const mine::EstimatorKind estimator = *mine::ParseEstimator(name);
        const int64_t max_steps = estimator == mine::EstimatorKind::kInfoNce
                                      ? absl::GetFlag(FLAGS_infonce_max_steps)
                                      : absl::GetFlag(FLAGS_max_steps);
        for (int64_t n : estimator == mine::EstimatorKind::kInfoNce ? infonce_sizes : sizes) {
          const absl::Time start = absl::Now();
          const mine::Estimate e =
              TrainOn(*NewSession(c.dim, estimator, static_cast<int>(n), seed), x, z, n, c.dim,
                      max_steps);
          const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
          std::fprintf(out, "%s,%d,%.3f,%s,%.4f,%s,%d,%lld,%.4f,%.4f,%lld,%s,%.2f\n",
                       c.name.c_str(), c.dim, c.rho,
                       std::string(mine::TransformName(c.transform)).c_str(), truth,
                       std::string(name).c_str(), seed, static_cast<long long>(n), e.mi_nats,
                       e.std_error_nats, static_cast<long long>(e.train_steps),
                       std::string(mine::EstimateStateName(e.state)).c_str(), seconds);
          std::fflush(out);
          std::fprintf(stderr, "%s %s seed %d N %lld: %.3f (truth %.3f) %lld steps %.1f s\n",
                       c.name.c_str(), std::string(name).c_str(), seed,
                       static_cast<long long>(n), e.mi_nats, truth,
                       static_cast<long long>(e.train_steps), seconds);
        }
      }
    }
  }
  std::fclose(out);
}

// MINE (the API's default bound) with one setting changed at a time, at the
// largest N, on --variant_cases: the table the server's defaults come from.
void Variants(const std::string& out_dir) {
  const int64_t n = Sizes().back();
  const std::vector<std::string> cases =
      absl::StrSplit(absl::GetFlag(FLAGS_variant_cases), ',', absl::SkipEmpty());
  FILE* out = std::fopen((out_dir + "/variants.csv").c_str(), "w");
  std::fprintf(out, "variant,case,truth,seed,n,estimate,steps,seconds\n");
  for (const Case& c : AllCases()) {
    if (std::find(cases.begin(), cases.end(), c.name) == cases.end()) continue;
    const double truth = mine::CorrelatedGaussian::TrueMiNats(c.dim, c.rho);
    for (int seed = 1; seed <= absl::GetFlag(FLAGS_variant_seeds); ++seed) {
      std::vector<float> x, z;
      Dataset(c, seed, n, &x, &z);
      for (const Variant& v : AllVariants()) {
        const absl::Time start = absl::Now();
        const mine::Estimate e =
            TrainOn(*NewSession(c.dim, mine::EstimatorKind::kMine, static_cast<int>(n), seed,
                                v.apply),
                    x, z, n, c.dim, absl::GetFlag(FLAGS_max_steps));
        std::fprintf(out, "%s,%s,%.4f,%d,%lld,%.4f,%lld,%.2f\n", v.name.c_str(), c.name.c_str(),
                     truth, seed, static_cast<long long>(n), e.mi_nats,
                     static_cast<long long>(e.train_steps),
                     absl::ToDoubleSeconds(absl::Now() - start));
        std::fflush(out);
        std::fprintf(stderr, "variant %s %s seed %d: %.3f (truth %.3f)\n", v.name.c_str(),
                     c.name.c_str(), seed, e.mi_nats, truth);
      }
    }
  }
  std::fclose(out);
}

// d = 20, x ~ N(0, I), z = rho x + sqrt(1 - rho^2) e with rho stepping so the
// true MI is 2, 4, 6, 8, 10 nats; rows streamed `staircase_chunk` before each
// 50-step slice into a window of `staircase_window` rows.
void Staircase(const std::string& out_dir) {
  const std::string path = out_dir + "/staircase.csv";
  FILE* out = std::fopen(path.c_str(), "w");
  std::fprintf(out, "estimator,rows_seen,steps,seconds,truth,estimate,state\n");
  const int dim = 20;
  const int chunk = absl::GetFlag(FLAGS_staircase_chunk);
  for (absl::string_view name :
       absl::StrSplit(absl::GetFlag(FLAGS_staircase_estimators), ',', absl::SkipEmpty())) {
    const mine::EstimatorKind estimator = *mine::ParseEstimator(name);
    auto session = NewSession(dim, estimator, absl::GetFlag(FLAGS_staircase_window), 1);
    mine::CorrelatedGaussian data(dim, 0.5, mine::Transform::kNone, 11);
    const absl::Time start = absl::Now();
    int64_t rows_seen = 0;
    for (double level : {2.0, 4.0, 6.0, 8.0, 10.0}) {
      data.set_rho(mine::CorrelatedGaussian::RhoForMi(dim, level));
      for (int64_t r = 0; r < absl::GetFlag(FLAGS_staircase_rows_per_level); r += chunk) {
        std::vector<float> x, z;
        data.Fill(chunk, &x, &z);
        Ingest(*session, x.data(), z.data(), chunk, dim);
        rows_seen += chunk;
        session->RunSlice();
        const mine::Estimate e = session->latest_estimate();
        std::fprintf(out, "%s,%lld,%lld,%.2f,%.1f,%.4f,%s\n", std::string(name).c_str(),
                     static_cast<long long>(rows_seen), static_cast<long long>(e.train_steps),
                     absl::ToDoubleSeconds(absl::Now() - start), level, e.mi_nats,
                     std::string(mine::EstimateStateName(e.state)).c_str());
      }
      std::fprintf(stderr, "staircase %s level %.0f: %.3f\n", std::string(name).c_str(), level,
                   session->latest_estimate().mi_nats);
    }
    std::fflush(out);
  }
  std::fclose(out);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  mine::InitTorchRuntime();
  const std::string out_dir = absl::GetFlag(FLAGS_out_dir);
  if (out_dir.empty()) {
    std::fprintf(stderr, "mine-accuracy-suite: --out_dir is required\n");
    return 2;
  }
  if (absl::GetFlag(FLAGS_export_samples)) ExportSamples(out_dir);
  if (absl::GetFlag(FLAGS_sweep)) Sweep(out_dir);
  if (!absl::GetFlag(FLAGS_variant_cases).empty()) Variants(out_dir);
  if (!absl::GetFlag(FLAGS_staircase_estimators).empty()) Staircase(out_dir);
  return 0;
}
