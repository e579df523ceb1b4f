#ifndef SERVER_CORE_PAIRED_GRADIENT_H_
#define SERVER_CORE_PAIRED_GRADIENT_H_

#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "server/core/session_config.h"
#include "server/core/statistics_network.h"

namespace mine {

// The statistics network's forward pass on B joint pairs (x_i, z_i) and B
// marginal pairs (x_i, z'_i), and its backward pass written out by hand:
// what autograd would compute, without building a graph, in buffers
// allocated once per batch size. The x half of the first layer is computed
// once per row and shared by the joint and marginal pairs. Used for the
// paired bounds (MINE, MINE_F, SMILE); the score-matrix bound goes through
// autograd.
//
// Borrows `network` (which must outlive this object) and reads its current
// parameters on every call. Not thread-safe.
//
//   PairedGradient g(network);
//   const float* t = g.Forward(x, z, z_marginal, b);   // [2b]: joint, then marginal
//   bound->LossAndGradient(t, t + b, b, d_t, d_t + b);
//   g.Backward(d_t, grad);                             // flat, parameters() order
class PairedGradient {
 public:
  explicit PairedGradient(const StatisticsNetwork& network);
  PairedGradient(const PairedGradient&) = delete;
  PairedGradient& operator=(const PairedGradient&) = delete;

  // T on the pairs; x [b, x_dim], z and z_marginal [b, z_dim], row-major.
  // The result has 2b values and stays valid until the next Forward. The
  // buffers grow to the largest b seen (about 2b x (2 + layers) x width
  // floats), so evaluate large sets in chunks.
  const float* Forward(const float* x, const float* z, const float* z_marginal, int64_t b);
  // dLoss/dparameters from dLoss/dT (2b values, as Forward returned T) for
  // the last Forward, written to `grad` (num_parameters() floats, laid out
  // as the concatenation of network.parameters()).
  void Backward(const float* d_t, float* grad);

  int64_t num_parameters() const { return num_parameters_; }

 private:
  // Makes the buffers hold at least b rows, then views of exactly b rows.
  void Reserve(int64_t b);
  // d *= activation'(h), with the activation's derivative written in terms
  // of its output h.
  void TimesActivationDerivative(const torch::Tensor& h, const torch::Tensor& d) const;
  void Activate(torch::Tensor& h) const;

  const StatisticsNetwork& network_;
  Activation activation_;
  int x_dim_;
  int z_dim_;
  std::vector<int> widths_;  // hidden layer widths
  std::vector<int64_t> offsets_;  // of each parameter in the flat gradient
  int64_t num_parameters_ = 0;

  // Flat storage for `capacity_` rows, allocated on first use and grown as needed.
  int64_t capacity_ = 0;
  std::vector<torch::Tensor> storage_;
  // Views of the storage for the last Forward's b rows.
  int64_t b_ = 0;
  const float* x_ = nullptr;  // borrowed from the last Forward
  torch::Tensor z_both_;      // [2b, z_dim]: z, then z_marginal
  torch::Tensor x_proj_;      // [b, h1]: x W_x^T + b_1
  torch::Tensor z_proj_;      // [2b, h1]: z_both W_z^T
  std::vector<torch::Tensor> hidden_;  // [2b, h_l]: activations of each hidden layer
  torch::Tensor t_;           // [2b, 1]
  torch::Tensor d_x_proj_;    // [b, h1]
  // [2b * widest]: ping-pong gradients w.r.t. a layer's activations.
  torch::Tensor d_hidden_[2];
};

}  // namespace mine

#endif  // SERVER_CORE_PAIRED_GRADIENT_H_
