#ifndef SERVER_CORE_TORCH_RUNTIME_H_
#define SERVER_CORE_TORCH_RUNTIME_H_

#include <string>

namespace mine {

struct BlasInfo {
  std::string library;  // the file that provides sgemm_, links resolved
  bool reference = false;  // Netlib's reference BLAS: 10-25x slower training
};

// Sets LibTorch's intra-op and inter-op threads and OpenBLAS's threads to 1
// (sessions are parallelised across workers instead; nested threading on a
// few cores collapses throughput), and reports which BLAS is in use.
// Idempotent and thread-safe; the first call does the work.
const BlasInfo& InitTorchRuntime();

}  // namespace mine

#endif  // SERVER_CORE_TORCH_RUNTIME_H_
