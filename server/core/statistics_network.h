#ifndef SERVER_CORE_STATISTICS_NETWORK_H_
#define SERVER_CORE_STATISTICS_NETWORK_H_

#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "server/core/session_config.h"

namespace mine {

// The statistics network T(x, z): an MLP over the concatenated pair.
// The first layer is stored as separate x and z blocks so that T can be
// evaluated on every (x_i, z_j) combination without materialising the
// concatenations (what INFONCE needs). Inputs are expected standardised.
// Weights are initialised from `seed` alone (PyTorch's default uniform
// fan-in scheme), never from the global generator. Not thread-safe.
class StatisticsNetwork {
 public:
  StatisticsNetwork(int x_dim, int z_dim, const std::vector<int>& hidden_units,
                    Activation activation, uint64_t seed);
  StatisticsNetwork(const StatisticsNetwork&) = delete;
  StatisticsNetwork& operator=(const StatisticsNetwork&) = delete;

  // T on paired rows: x [n, x_dim], z [n, z_dim] -> [n].
  torch::Tensor Forward(const torch::Tensor& x, const torch::Tensor& z) const;
  // T on all pairs: x [n, x_dim], z [m, z_dim] -> [n, m], entry (i, j) = T(x_i, z_j).
  torch::Tensor ScoreMatrix(const torch::Tensor& x, const torch::Tensor& z) const;

  std::vector<torch::Tensor>& parameters() { return parameters_; }
  const std::vector<torch::Tensor>& parameters() const { return parameters_; }
  Activation activation() const { return activation_; }

 private:
  torch::Tensor Activate(const torch::Tensor& h) const;
  // Layers after the first, applied to first-layer pre-activations.
  torch::Tensor Tail(const torch::Tensor& first_preactivation) const;

  Activation activation_;
  // [w_x, w_z, b_1, w_2, b_2, ..., w_out, b_out]
  std::vector<torch::Tensor> parameters_;
};

}  // namespace mine

#endif  // SERVER_CORE_STATISTICS_NETWORK_H_
