// mine-accuracy-suite: each bound against closed-form MI, streamed into an
// in-process core session (deterministic for a seed), written as CSV for
// bench/python/report.py. Also exports every dataset as CSV so that the
// Python MINE reference and KSG run on the very same samples, and runs the
// 2 -> 4 -> 6 -> 8 -> 10 nats staircase at d = 20 for tracking.
//
//   mine-accuracy-suite --out_dir results/x --seeds 3 --rows 4000 --max_steps 1000
//
// Sweep method: rows arrive in 20 equal chunks, one chunk before each training
// slice (50 steps); after the last chunk the session trains until CONVERGED or
// --max_steps. "Samples to 10%" is samples_seen at the first evaluation after
// which every estimate stays within 10% of the truth (within 0.05 nats when the
// truth is 0); empty if the last estimate is not within.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/synthetic_data.h"
#include "server/core/session.h"
#include "server/core/torch_runtime.h"

ABSL_FLAG(std::string, out_dir, "", "where accuracy.csv, staircase.csv and samples/ go");
ABSL_FLAG(int, seeds, 3, "seeds per case (1..seeds)");
ABSL_FLAG(int64_t, rows, 4000, "rows per dataset (all fit in the window)");
ABSL_FLAG(int64_t, max_steps, 1000, "training steps at most");
ABSL_FLAG(std::string, estimators, "MINE,MINE_F,INFONCE,SMILE", "bounds to run");
ABSL_FLAG(std::string, cases, "", "comma-separated case names; empty = all");
ABSL_FLAG(bool, sweep, true, "run the sweep");
ABSL_FLAG(bool, export_samples, true, "write samples/CASE_seedS.csv for the Python side");
ABSL_FLAG(std::string, staircase_estimators, "MINE,SMILE", "empty: no staircase");
ABSL_FLAG(int64_t, staircase_rows_per_level, 5120, "rows streamed per MI level");
ABSL_FLAG(int, staircase_chunk, 256, "rows streamed before each 50-step slice");
ABSL_FLAG(int, staircase_window, 4096, "window_size of the staircase session");
ABSL_FLAG(int, infonce_batch, 64,
          "INFONCE's batch_size (it scores batch^2 pairs per step; the default 256 costs ~100x a "
          "MINE step); its cap is log(batch)");
ABSL_FLAG(int64_t, infonce_max_steps, 500, "INFONCE's training steps at most");

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

std::shared_ptr<mine::Session> NewSession(int dim, mine::EstimatorKind estimator, int window,
                                          uint64_t seed) {
  mine::SessionConfig config;
  config.x_dim = dim;
  config.z_dim = dim;
  config.estimator = estimator;
  config.window_size = window;
  config.seed = seed;
  if (estimator == mine::EstimatorKind::kInfoNce) config.batch_size = absl::GetFlag(FLAGS_infonce_batch);
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

bool Within(double estimate, double truth) {
  return truth == 0 ? std::fabs(estimate) <= 0.05 : std::fabs(estimate - truth) <= 0.1 * truth;
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

void Sweep(const std::string& out_dir) {
  const int64_t rows = absl::GetFlag(FLAGS_rows);
  const std::vector<std::string> wanted =
      absl::StrSplit(absl::GetFlag(FLAGS_cases), ',', absl::SkipEmpty());
  const std::string path = out_dir + "/accuracy.csv";
  FILE* out = std::fopen(path.c_str(), "w");
  std::fprintf(out, "case,dim,rho,transform,truth,estimator,seed,rows,estimate,std_error,steps,"
                    "samples_to_10pct,seconds,samples_csv\n");
  for (const Case& c : AllCases()) {
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), c.name) == wanted.end()) {
      continue;
    }
    const double truth = mine::CorrelatedGaussian::TrueMiNats(c.dim, c.rho);
    for (int seed = 1; seed <= absl::GetFlag(FLAGS_seeds); ++seed) {
      mine::CorrelatedGaussian data(c.dim, c.rho, c.transform, seed);
      std::vector<float> x, z;
      data.Fill(rows, &x, &z);
      std::string samples;
      if (absl::GetFlag(FLAGS_export_samples)) {
        samples = absl::StrCat("samples/", c.name, "_seed", seed, ".csv");
        ExportCsv(out_dir + "/" + samples, x, z, rows, c.dim);
      }
      for (absl::string_view name :
           absl::StrSplit(absl::GetFlag(FLAGS_estimators), ',', absl::SkipEmpty())) {
        const mine::EstimatorKind estimator = *mine::ParseEstimator(name);
        auto session = NewSession(c.dim, estimator, static_cast<int>(rows), seed);
        const absl::Time start = absl::Now();
        const int64_t chunk = (rows + 19) / 20;
        std::vector<std::pair<int64_t, double>> trace;  // samples_seen, estimate
        uint64_t version = 0;
        auto record = [&] {
          const mine::Estimate e = session->latest_estimate();
          if (e.version != version && e.state != mine::EstimateState::kWarmingUp) {
            version = e.version;
            trace.emplace_back(e.samples_seen, e.mi_nats);
          }
        };
        const int64_t max_steps = estimator == mine::EstimatorKind::kInfoNce
                                      ? absl::GetFlag(FLAGS_infonce_max_steps)
                                      : absl::GetFlag(FLAGS_max_steps);
        // Past max_steps the remaining chunks are only queued; one last slice
        // below applies them and publishes an estimate that reflects them.
        for (int64_t r = 0; r < rows; r += chunk) {
          const int64_t n = std::min(chunk, rows - r);
          Ingest(*session, &x[r * c.dim], &z[r * c.dim], n, c.dim);
          if (session->status().train_steps < max_steps) {
            session->RunSlice();
            record();
          }
        }
        if (session->status().pending_rows > 0) {
          session->RunSlice();
          record();
        }
        while (session->status().train_steps < max_steps &&
               session->RunSlice()) {
          record();
        }
        record();
        const mine::Estimate e = session->latest_estimate();
        int64_t needed = -1;
        for (size_t i = trace.size(); i-- > 0;) {
          if (!Within(trace[i].second, truth)) break;
          needed = trace[i].first;
        }
        const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
        std::fprintf(out, "%s,%d,%.3f,%s,%.4f,%s,%d,%lld,%.4f,%.4f,%lld,%s,%.2f,%s\n",
                     c.name.c_str(), c.dim, c.rho,
                     std::string(mine::TransformName(c.transform)).c_str(), truth,
                     std::string(name).c_str(), seed, static_cast<long long>(rows), e.mi_nats,
                     e.std_error_nats, static_cast<long long>(e.train_steps),
                     needed < 0 ? "" : std::to_string(needed).c_str(), seconds, samples.c_str());
        std::fflush(out);
        std::fprintf(stderr, "%s %s seed %d: %.3f (truth %.3f) %lld steps %.1f s\n",
                     c.name.c_str(), std::string(name).c_str(), seed, e.mi_nats, truth,
                     static_cast<long long>(e.train_steps), seconds);
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
  if (absl::GetFlag(FLAGS_sweep)) Sweep(out_dir);
  if (!absl::GetFlag(FLAGS_staircase_estimators).empty()) Staircase(out_dir);
  return 0;
}
