// mine-demo: streams correlated Gaussians with known MI through the
// estimation core, in process, and prints the running estimate beside the
// truth. The quickest way to see what the server computes.
#include <cstdio>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "client/synthetic_data.h"
#include "server/core/session_manager.h"
#include "server/core/torch_runtime.h"

ABSL_FLAG(int, dim, 2, "dimension of x and of z");
ABSL_FLAG(double, rho, 0.8, "per-coordinate correlation of x and z, in (-1, 1)");
ABSL_FLAG(std::string, transform, "none", "none, cube, asinh or normal_cdf (MI unchanged)");
ABSL_FLAG(std::string, estimator, "MINE", "MINE, MINE_F, INFONCE or SMILE");
ABSL_FLAG(int64_t, rows, 30000, "rows to stream");
ABSL_FLAG(int64_t, rows_per_second, 3000, "pace of the stream");
ABSL_FLAG(int64_t, batch_rows, 250, "rows per batch");
ABSL_FLAG(double, settle_seconds, 20, "after the stream ends, train at most this long");
ABSL_FLAG(uint64_t, seed, 1, "seed of the data and of the session");

namespace {

void Print(const mine::Estimate& e, double truth) {
  std::printf("rows %7lld  steps %6lld  MI %7.3f ± %.3f nats  (truth %.3f)  %s\n",
              static_cast<long long>(e.samples_seen), static_cast<long long>(e.train_steps),
              e.mi_nats, e.std_error_nats, truth,
              std::string(mine::EstimateStateName(e.state)).c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const mine::BlasInfo& blas = mine::InitTorchRuntime();
  if (blas.reference) {
    std::fprintf(stderr, "WARNING: reference BLAS in use (%s): training is 10-25x slower; "
                         "install libopenblas0-pthread\n", blas.library.c_str());
  }
  absl::StatusOr<mine::Transform> transform = mine::ParseTransform(absl::GetFlag(FLAGS_transform));
  absl::StatusOr<mine::EstimatorKind> estimator = mine::ParseEstimator(absl::GetFlag(FLAGS_estimator));
  const double rho = absl::GetFlag(FLAGS_rho);
  if (!transform.ok() || !estimator.ok() || !(rho > -1 && rho < 1)) {
    std::fprintf(stderr, "mine-demo: %s\n",
                 !transform.ok() ? transform.status().ToString().c_str()
                 : !estimator.ok() ? estimator.status().ToString().c_str()
                                   : "--rho must be in (-1, 1)");
    return 2;
  }
  const int dim = absl::GetFlag(FLAGS_dim);
  mine::CorrelatedGaussian data(dim, rho, *transform, absl::GetFlag(FLAGS_seed));
  const double truth = data.true_mi_nats();

  mine::SessionManager manager(mine::SessionManagerOptions{});
  mine::SessionConfig config;
  config.x_dim = dim;
  config.z_dim = dim;
  config.estimator = *estimator;
  config.seed = absl::GetFlag(FLAGS_seed);
  absl::StatusOr<std::shared_ptr<mine::Session>> session = manager.Create("demo", config);
  if (!session.ok()) {
    std::fprintf(stderr, "mine-demo: %s\n", session.status().ToString().c_str());
    return 2;
  }
  std::printf("streaming %lld rows of a %d+%d-dim Gaussian (rho %.2f, %s), true MI %.3f nats\n"
              "session: %s\nBLAS: %s\n",
              static_cast<long long>(absl::GetFlag(FLAGS_rows)), dim, dim, rho,
              std::string(mine::TransformName(*transform)).c_str(), truth,
              mine::DescribeConfig((*session)->config()).c_str(), blas.library.c_str());

  const int64_t batch = absl::GetFlag(FLAGS_batch_rows);
  const absl::Duration per_batch =
      absl::Seconds(static_cast<double>(batch) / absl::GetFlag(FLAGS_rows_per_second));
  absl::Time next_print = absl::Now();
  for (int64_t sent = 0; sent < absl::GetFlag(FLAGS_rows); sent += batch) {
    std::vector<float> x, z;
    data.Fill(batch, &x, &z);
    absl::StatusOr<mine::IngestResult> r = (*session)->Ingest(x, z);
    while (!r.ok() && absl::IsResourceExhausted(r.status())) {
      absl::SleepFor(absl::Milliseconds(10));
      r = (*session)->Ingest(x, z);
    }
    if (!r.ok()) {
      std::fprintf(stderr, "mine-demo: %s\n", r.status().ToString().c_str());
      return 1;
    }
    if (absl::Now() >= next_print) {
      Print((*session)->latest_estimate(), truth);
      next_print += absl::Seconds(1);
    }
    absl::SleepFor(per_batch);
  }
  const absl::Time settle_end = absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_settle_seconds));
  while (absl::Now() < settle_end &&
         (*session)->latest_estimate().state != mine::EstimateState::kConverged) {
    absl::SleepFor(absl::Seconds(1));
    Print((*session)->latest_estimate(), truth);
  }
  const mine::Estimate final_estimate = (*session)->latest_estimate();
  std::printf("final: ");
  Print(final_estimate, truth);
  return 0;
}
