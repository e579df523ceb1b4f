// mine-step-profile: where a training step's time goes, in process, one
// thread. For one (batch, dim, net) it times, in steps/s:
//   minimal   a plain LibTorch loop of the same MINE step (nn::Linear, ELU,
//             optim::Adam, in-batch shuffle, bias-corrected EMA loss): the
//             C++ twin of bench/python/reference_mine.py
//   trainer   mine::Trainer::Step on fixed rows (the server's step: split
//             first layer, finiteness checks, log-domain EMA)
//   session   mine::Session::RunSlice with a full window (adds batch and
//             marginal sampling from the window and an evaluation every
//             50 steps): what a worker does
// Prints CSV on stdout.
//
//   mine-step-profile --batch 256 --dim 20 --hidden 128-128 --seconds 2
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "client/synthetic_data.h"
#include "server/core/session.h"
#include "server/core/session_config.h"
#include "server/core/torch_runtime.h"
#include "server/core/trainer.h"

ABSL_FLAG(int, batch, 256, "batch size");
ABSL_FLAG(int, dim, 20, "x_dim = z_dim");
ABSL_FLAG(std::string, hidden, "128-128", "hidden layers (ELU)");
ABSL_FLAG(double, seconds, 2, "time per variant");
ABSL_FLAG(bool, flush_denormal, false, "experiment: flush denormal floats to zero");
ABSL_FLAG(bool, cpu_time, false,
          "measure process CPU time instead of wall time (steadier on a loaded machine)");

namespace {

double Now() {
  if (absl::GetFlag(FLAGS_cpu_time)) {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// `step` runs some steps and returns how many.
template <typename F>
double StepsPerSecond(F step) {
  for (int i = 0; i < 10; ++i) step();
  int64_t steps = 0;
  const double t0 = Now();
  double elapsed = 0;
  while (elapsed < absl::GetFlag(FLAGS_seconds)) {
    steps += step();
    elapsed = Now() - t0;
  }
  return steps / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  mine::InitTorchRuntime();
  if (absl::GetFlag(FLAGS_flush_denormal)) at::globalContext().setFlushDenormal(true);
  const int batch = absl::GetFlag(FLAGS_batch);
  const int dim = absl::GetFlag(FLAGS_dim);
  std::vector<int> hidden;
  for (absl::string_view p : absl::StrSplit(absl::GetFlag(FLAGS_hidden), '-')) {
    int h = 0;
    if (absl::SimpleAtoi(p, &h)) hidden.push_back(h);
  }
  const int window = 32768;
  mine::CorrelatedGaussian gen(dim, 0.8, mine::Transform::kNone, 1);
  std::vector<float> x, z;
  gen.Fill(window, &x, &z);
  torch::Tensor xt = torch::from_blob(x.data(), {window, dim}).clone();
  torch::Tensor zt = torch::from_blob(z.data(), {window, dim}).clone();

  // minimal: the Python reference's loop in C++.
  double minimal = 0;
  {
    torch::manual_seed(1);
    torch::nn::Sequential net;
    int width = 2 * dim;
    for (int h : hidden) {
      net->push_back(torch::nn::Linear(width, h));
      net->push_back(torch::nn::ELU());
      width = h;
    }
    net->push_back(torch::nn::Linear(width, 1));
    torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3));
    double log_ema = 0;
    bool has_ema = false;
    minimal = StepsPerSecond([&] {
      torch::Tensor idx = torch::randint(0, window, {batch}, torch::kLong);
      torch::Tensor bx = xt.index_select(0, idx), bz = zt.index_select(0, idx);
      torch::Tensor zm = bz.index_select(0, torch::randperm(batch, torch::kLong));
      torch::Tensor t = net->forward(torch::cat({torch::cat({bx, bz}, 1), torch::cat({bx, zm}, 1)}))
                            .squeeze(-1);
      torch::Tensor tp = t.slice(0, 0, batch), tq = t.slice(0, batch);
      const double lme =
          torch::logsumexp(tq.detach().to(torch::kFloat64), 0).item<double>() - std::log(batch);
      if (!has_ema) {
        log_ema = lme;
        has_ema = true;
      } else {
        const double a = std::log1p(-0.01) + log_ema, b = std::log(0.01) + lme;
        const double hi = std::max(a, b);
        log_ema = hi + std::log(std::exp(a - hi) + std::exp(b - hi));
      }
      torch::Tensor loss = torch::exp(tq - log_ema).mean() - tp.mean();
      opt.zero_grad();
      loss.backward();
      opt.step();
      return 1;
    });
  }

  mine::SessionConfig requested;
  requested.x_dim = dim;
  requested.z_dim = dim;
  requested.batch_size = batch;
  requested.hidden_units = hidden;
  requested.activation = mine::Activation::kElu;
  requested.window_size = window;
  requested.seed = 1;

  // trainer: the server's Step on fixed rows (marginal = z reversed).
  double trainer = 0, evaluate_ms = 0;
  {
    auto session = mine::Session::Create("profile", requested, nullptr, {});
    if (!session.ok()) {
      std::fprintf(stderr, "%s\n", session.status().ToString().c_str());
      return 2;
    }
    absl::StatusOr<mine::SessionConfig> resolved = mine::ResolveSessionConfig(requested, "profile");
    if (!resolved.ok()) return 2;
    mine::Trainer t(*resolved);
    // Consecutive batches of the window; the marginal z is the next block's.
    int64_t offset = 0;
    trainer = StepsPerSecond([&] {
      if (offset + 2 * batch > window) offset = 0;
      const int64_t o = offset * dim;
      offset += batch;
      return t.Step({x.data() + o, z.data() + o, z.data() + o + int64_t{batch} * dim, batch})
                 ? 1
                 : 0;
    });
    // One held-out evaluation as a session runs it every 50 steps.
    const int64_t eval_rows = 4096;
    int evaluations = 0;
    const double t_eval = Now();
    while (Now() - t_eval < 0.5 || evaluations < 3) {
      t.Evaluate({x.data(), z.data(), z.data() + eval_rows * dim, eval_rows});
      ++evaluations;
    }
    evaluate_ms = 1e3 * (Now() - t_eval) / evaluations;

    // session: RunSlice (50 steps + one evaluation) with a full window.
    if (auto r = (*session)->Ingest(x, z); !r.ok()) return 2;
    (*session)->RunSlice();
    // Counts the steps taken (a slice may end early on its time limit);
    // a converged session is re-opened with a batch of new rows.
    const double session_sps = StepsPerSecond([&] {
      const int64_t before = (*session)->status().train_steps;
      (*session)->RunSlice();
      if ((*session)->latest_estimate().state == mine::EstimateState::kConverged) {
        std::vector<float> nx, nz;
        gen.Fill(batch, &nx, &nz);
        (void)(*session)->Ingest(nx, nz);
      }
      return (*session)->status().train_steps - before;
    });
    std::printf("batch,dim,net,minimal_cpp_steps_per_s,trainer_step_steps_per_s,"
                "session_slice_steps_per_s,evaluate_4096_ms\n");
    std::printf("%d,%d,%s,%.1f,%.1f,%.1f,%.2f\n", batch, dim,
                absl::GetFlag(FLAGS_hidden).c_str(), minimal, trainer, session_sps, evaluate_ms);
  }
  return 0;
}
