#include "server/core/torch_runtime.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>

#include <ATen/Parallel.h>

namespace mine {
namespace {

BlasInfo DetectBlas() {
  BlasInfo info;
  void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
  Dl_info where;
  if (sgemm == nullptr || dladdr(sgemm, &where) == 0 || where.dli_fname == nullptr) {
    info.library = "unknown";
    return info;
  }
  char resolved[PATH_MAX];
  info.library = realpath(where.dli_fname, resolved) != nullptr ? resolved : where.dli_fname;
  // Debian installs the reference implementation as .../blas/libblas.so.3;
  // optimised ones live in openblas-*/, blis-*/, atlas/ or mkl directories.
  info.reference = info.library.find("/blas/libblas.so") != std::string::npos;
  return info;
}

void LimitOpenBlasThreads() {
  using SetThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    set(1);
  }
}

BlasInfo Init() {
  setenv("OMP_NUM_THREADS", "1", /*overwrite=*/0);
  at::set_num_threads(1);
  try {
    at::set_num_interop_threads(1);
  } catch (const std::exception&) {
    // Already fixed by earlier inter-op work; intra-op is what matters here.
  }
  LimitOpenBlasThreads();
  return DetectBlas();
}

}  // namespace

const BlasInfo& InitTorchRuntime() {
  static const BlasInfo* info = new BlasInfo(Init());
  return *info;
}

}  // namespace mine
