#include "server/core/flat_adam.h"

#include <algorithm>
#include <cmath>

namespace mine {
namespace {

constexpr double kBeta1 = 0.9;
constexpr double kBeta2 = 0.999;
constexpr float kEpsilon = 1e-8f;

}  // namespace

FlatAdam::FlatAdam(int64_t num_parameters) : m_(num_parameters), v_(num_parameters) {}

void FlatAdam::Reset() {
  steps_ = 0;
  std::fill(m_.begin(), m_.end(), 0.0f);
  std::fill(v_.begin(), v_.end(), 0.0f);
}

bool FlatAdam::Load(int64_t steps, std::vector<float> m, std::vector<float> v) {
  if (steps < 0 || m.size() != m_.size() || v.size() != v_.size()) return false;
  steps_ = steps;
  m_ = std::move(m);
  v_ = std::move(v);
  return true;
}

void FlatAdam::Step(const std::vector<torch::Tensor>& params, const float* grad,
                    double learning_rate) {
  ++steps_;
  // As torch::optim::Adam: p -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps).
  const double bias_correction1 = 1 - std::pow(kBeta1, static_cast<double>(steps_));
  const double bias_correction2 = 1 - std::pow(kBeta2, static_cast<double>(steps_));
  const float step_size = static_cast<float>(learning_rate / bias_correction1);
  const float inv_sqrt_bc2 = static_cast<float>(1 / std::sqrt(bias_correction2));
  const float b1 = static_cast<float>(kBeta1), b2 = static_cast<float>(kBeta2);
  int64_t offset = 0;
  for (const torch::Tensor& param : params) {
    float* p = param.data_ptr<float>();
    const int64_t n = param.numel();
    const float* g = grad + offset;
    float* m = m_.data() + offset;
    float* v = v_.data() + offset;
    for (int64_t i = 0; i < n; ++i) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      p[i] -= step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + kEpsilon);
    }
    offset += n;
  }
}

}  // namespace mine
