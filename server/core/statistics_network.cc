#include "server/core/statistics_network.h"

#include <cmath>
#include <random>

namespace mine {
namespace {

// U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's default for nn.Linear
// weights (kaiming_uniform with a = sqrt(5)) and biases.
torch::Tensor UniformFanIn(std::mt19937_64& rng, std::vector<int64_t> shape,
                           int fan_in) {
  torch::Tensor t = torch::empty(shape, torch::kFloat32);
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  std::uniform_real_distribution<double> uniform(-bound, bound);
  float* data = t.data_ptr<float>();
  for (int64_t i = 0; i < t.numel(); ++i) data[i] = static_cast<float>(uniform(rng));
  return t.set_requires_grad(true);
}

}  // namespace

StatisticsNetwork::StatisticsNetwork(int x_dim, int z_dim,
                                     const std::vector<int>& hidden_units,
                                     Activation activation, uint64_t seed)
    : activation_(activation) {
  std::mt19937_64 rng(seed);
  const int fan_in = x_dim + z_dim;
  const int first = hidden_units.front();
  parameters_.push_back(UniformFanIn(rng, {first, x_dim}, fan_in));
  parameters_.push_back(UniformFanIn(rng, {first, z_dim}, fan_in));
  parameters_.push_back(UniformFanIn(rng, {first}, fan_in));
  int width = first;
  for (size_t i = 1; i < hidden_units.size(); ++i) {
    parameters_.push_back(UniformFanIn(rng, {hidden_units[i], width}, width));
    parameters_.push_back(UniformFanIn(rng, {hidden_units[i]}, width));
    width = hidden_units[i];
  }
  parameters_.push_back(UniformFanIn(rng, {1, width}, width));
  parameters_.push_back(UniformFanIn(rng, {1}, width));
}

torch::Tensor StatisticsNetwork::Activate(const torch::Tensor& h) const {
  switch (activation_) {
    case Activation::kElu: return torch::elu(h);
    case Activation::kTanh: return torch::tanh(h);
    case Activation::kRelu:
    case Activation::kUnspecified: break;
  }
  return torch::relu(h);
}

torch::Tensor StatisticsNetwork::Tail(const torch::Tensor& first_preactivation) const {
  torch::Tensor h = Activate(first_preactivation);
  const size_t n = parameters_.size();
  for (size_t i = 3; i + 2 < n; i += 2) {
    h = Activate(torch::linear(h, parameters_[i], parameters_[i + 1]));
  }
  return torch::linear(h, parameters_[n - 2], parameters_[n - 1]).squeeze(-1);
}

torch::Tensor StatisticsNetwork::Forward(const torch::Tensor& x,
                                         const torch::Tensor& z) const {
  torch::Tensor pre = torch::linear(x, parameters_[0], parameters_[2]) +
                      torch::linear(z, parameters_[1]);
  return Tail(pre);
}

torch::Tensor StatisticsNetwork::ScoreMatrix(const torch::Tensor& x,
                                             const torch::Tensor& z) const {
  torch::Tensor hx = torch::linear(x, parameters_[0], parameters_[2]);  // [n, h]
  torch::Tensor hz = torch::linear(z, parameters_[1]);                  // [m, h]
  return Tail(hx.unsqueeze(1) + hz.unsqueeze(0));                      // [n, m]
}

}  // namespace mine
