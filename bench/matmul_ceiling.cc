// mine-matmul-ceiling: GFLOP/s of the matrix multiplies of one MINE training
// step, at the statistics network's exact shapes, on one thread (LibTorch with
// the BLAS that the server uses). Prints CSV on stdout.
//
//   mine-matmul-ceiling --batches 64,256,1024 --dims 2,20 --nets 100-100,128-128
//
// A step of the reference implementation runs the net on 2B rows (B joint +
// B marginal pairs). For each linear layer [in -> out] on n = 2B rows it does
// GEMMs of 2*n*in*out FLOPs each: forward X W^T, weight gradient dY^T X, and
// the input gradient dY W for every layer but the first (the inputs need
// none). Their sum is flops_per_step, used for the "fraction of the ceiling"
// a measured step rate reaches; the server's step does fewer (the x half of
// the first layer is computed once for both halves of the batch), so its
// fraction is counted in the reference step's FLOPs.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "server/core/torch_runtime.h"

ABSL_FLAG(std::string, batches, "64,256,1024", "batch sizes");
ABSL_FLAG(std::string, dims, "2,20", "x_dim (= z_dim) values");
ABSL_FLAG(std::string, nets, "100-100,128-128", "hidden layers");
ABSL_FLAG(double, seconds, 1.0, "time per shape");

namespace {

std::vector<int> IntList(const std::string& text, char sep) {
  std::vector<int> out;
  for (absl::string_view part : absl::StrSplit(text, sep, absl::SkipEmpty())) {
    int v = 0;
    if (absl::SimpleAtoi(part, &v)) out.push_back(v);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  mine::InitTorchRuntime();  // one intra-op and one inter-op thread, as the server
  torch::NoGradGuard no_grad;
  std::printf("batch,dim,net,params,flops_per_step,gemm_seconds_per_step,gflops\n");
  for (const std::string& net : std::vector<std::string>(absl::StrSplit(absl::GetFlag(FLAGS_nets), ','))) {
    const std::vector<int> hidden = IntList(net, '-');
    for (int dim : IntList(absl::GetFlag(FLAGS_dims), ',')) {
      for (int batch : IntList(absl::GetFlag(FLAGS_batches), ',')) {
        std::vector<int> widths = {2 * dim};
        for (int h : hidden) widths.push_back(h);
        widths.push_back(1);
        const int64_t n = 2 * batch;
        struct Layer {
          torch::Tensor x, w, dy, y, dx, dw;  // outputs preallocated: no allocation timed
        };
        std::vector<Layer> layers;
        int64_t params = 0;
        double flops = 0;
        for (size_t i = 0; i + 1 < widths.size(); ++i) {
          const int64_t in = widths[i], out = widths[i + 1];
          layers.push_back({torch::randn({n, in}), torch::randn({out, in}),
                            torch::randn({n, out}), torch::empty({n, out}),
                            torch::empty({n, in}), torch::empty({out, in})});
          params += (in + 1) * out;
          // Forward and weight gradient; the input gradient except for the
          // first layer (the inputs need none).
          flops += (i == 0 ? 2.0 : 3.0) * 2.0 * n * in * out;
        }
        auto step = [&] {
          for (size_t i = 0; i < layers.size(); ++i) {
            Layer& l = layers[i];
            torch::mm_out(l.y, l.x, l.w.t());                // forward
            if (i > 0) torch::mm_out(l.dx, l.dy, l.w);       // input gradient
            torch::mm_out(l.dw, l.dy.t(), l.x);              // weight gradient
          }
        };
        for (int i = 0; i < 20; ++i) step();
        int64_t reps = 0;
        const auto t0 = std::chrono::steady_clock::now();
        double elapsed = 0;
        while (elapsed < absl::GetFlag(FLAGS_seconds)) {
          for (int i = 0; i < 10; ++i) step();
          reps += 10;
          elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        }
        const double per_step = elapsed / reps;
        std::printf("%d,%d,%s,%lld,%.0f,%.3e,%.2f\n", batch, dim, net.c_str(),
                    static_cast<long long>(params), flops, per_step, flops / per_step / 1e9);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
