#include "server/core/paired_gradient.h"

#include <algorithm>
#include <cstring>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

namespace mine {
namespace {

torch::Tensor Borrow(const float* data, std::vector<int64_t> shape) {
  return torch::from_blob(const_cast<float*>(data), shape, torch::kFloat32);
}

// out[j] += sum over rows of d[r, j].
void AddColumnSums(const float* d, int64_t rows, int64_t cols, float* __restrict__ out) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = d + r * cols;
    for (int64_t j = 0; j < cols; ++j) out[j] += row[j];
  }
}

}  // namespace

PairedGradient::PairedGradient(const StatisticsNetwork& network)
    : network_(network), activation_(network.activation()) {
  const std::vector<torch::Tensor>& p = network.parameters();
  x_dim_ = static_cast<int>(p[0].size(1));
  z_dim_ = static_cast<int>(p[1].size(1));
  widths_.push_back(static_cast<int>(p[0].size(0)));
  for (size_t k = 3; k + 2 < p.size(); k += 2) widths_.push_back(static_cast<int>(p[k].size(0)));
  for (const torch::Tensor& t : p) {
    offsets_.push_back(num_parameters_);
    num_parameters_ += t.numel();
  }
}

void PairedGradient::Reserve(int64_t b) {
  const int64_t h1 = widths_.front();
  const int64_t widest = *std::max_element(widths_.begin(), widths_.end());
  // Values per row of each buffer, in the order of the views below.
  std::vector<int64_t> per_row = {2 * z_dim_, h1, 2 * h1};
  for (int w : widths_) per_row.push_back(2 * w);
  per_row.insert(per_row.end(), {2, h1, 2 * widest, 2 * widest});
  if (b > capacity_) {
    capacity_ = b;
    storage_.clear();
    for (int64_t n : per_row) storage_.push_back(torch::empty({n * b}));
  }
  b_ = b;
  size_t i = 0;
  auto view = [&](int64_t rows, int64_t cols) {
    return storage_[i++].narrow(0, 0, rows * cols).view({rows, cols});
  };
  z_both_ = view(2 * b, z_dim_);
  x_proj_ = view(b, h1);
  z_proj_ = view(2 * b, h1);
  hidden_.clear();
  for (int w : widths_) hidden_.push_back(view(2 * b, w));
  t_ = view(2 * b, 1);
  d_x_proj_ = view(b, h1);
  d_hidden_[0] = storage_[i++];
  d_hidden_[1] = storage_[i++];
}

void PairedGradient::Activate(torch::Tensor& h) const {
  switch (activation_) {
    case Activation::kElu: at::elu_(h); return;
    case Activation::kTanh: at::tanh_(h); return;
    case Activation::kRelu:
    case Activation::kUnspecified: break;
  }
  at::relu_(h);
}

void PairedGradient::TimesActivationDerivative(const torch::Tensor& h,
                                               const torch::Tensor& d) const {
  const float* __restrict__ hv = h.data_ptr<float>();
  float* __restrict__ dv = d.data_ptr<float>();
  const int64_t n = h.numel();
  // Branch-free, so that the loops vectorise.
  switch (activation_) {
    case Activation::kElu:  // h = x for x > 0, e^x - 1 otherwise: h' = 1 or h + 1
      for (int64_t i = 0; i < n; ++i) dv[i] *= (hv[i] < 0.0f ? hv[i] : 0.0f) + 1.0f;
      return;
    case Activation::kTanh:
      for (int64_t i = 0; i < n; ++i) dv[i] *= 1.0f - hv[i] * hv[i];
      return;
    case Activation::kRelu:
    case Activation::kUnspecified: break;
  }
  for (int64_t i = 0; i < n; ++i) dv[i] = hv[i] > 0 ? dv[i] : 0.0f;
}

const float* PairedGradient::Forward(const float* x, const float* z, const float* z_marginal,
                                     int64_t b) {
  c10::InferenceMode inference;
  if (b != b_) Reserve(b);
  x_ = x;
  const std::vector<torch::Tensor>& p = network_.parameters();
  const int h1 = widths_.front();
  float* zb = z_both_.data_ptr<float>();
  std::memcpy(zb, z, sizeof(float) * b * z_dim_);
  std::memcpy(zb + b * z_dim_, z_marginal, sizeof(float) * b * z_dim_);
  at::addmm_out(x_proj_, p[2].detach(), Borrow(x, {b, x_dim_}), p[0].detach().t());
  at::mm_out(z_proj_, z_both_, p[1].detach().t());
  // First-layer pre-activation of pair r: x_{r mod b} W_x^T + b_1 + z_r W_z^T.
  const float* xp = x_proj_.data_ptr<float>();
  const float* zp = z_proj_.data_ptr<float>();
  float* h = hidden_[0].data_ptr<float>();
  for (int64_t r = 0; r < 2 * b; ++r) {
    const float* xr = xp + (r % b) * h1;
    const float* zr = zp + r * h1;
    float* hr = h + r * h1;
    for (int j = 0; j < h1; ++j) hr[j] = xr[j] + zr[j];
  }
  Activate(hidden_[0]);
  for (size_t l = 1; l < widths_.size(); ++l) {
    const size_t k = 3 + 2 * (l - 1);
    at::addmm_out(hidden_[l], p[k + 1].detach(), hidden_[l - 1], p[k].detach().t());
    Activate(hidden_[l]);
  }
  const size_t out = p.size() - 2;
  at::addmm_out(t_, p[out + 1].detach(), hidden_.back(), p[out].detach().t());
  return t_.data_ptr<float>();
}

void PairedGradient::Backward(const float* d_t, float* grad) {
  c10::InferenceMode inference;
  const std::vector<torch::Tensor>& p = network_.parameters();
  const int64_t b = b_;
  auto grad_of = [&](size_t k) { return Borrow(grad + offsets_[k], p[k].sizes().vec()); };
  auto d_view = [&](int which, int width) {
    return d_hidden_[which].narrow(0, 0, 2 * b * width).view({2 * b, width});
  };
  std::fill(grad, grad + num_parameters_, 0.0f);

  // Output layer T = H W_out^T + b_out.
  const size_t out = p.size() - 2;
  const int last = widths_.back();
  torch::Tensor g_out = grad_of(out);
  at::mm_out(g_out, Borrow(d_t, {1, 2 * b}), hidden_.back());
  for (int64_t r = 0; r < 2 * b; ++r) grad[offsets_[out + 1]] += d_t[r];
  int cur = 0;
  {
    torch::Tensor d = d_view(cur, last);
    float* dv = d.data_ptr<float>();
    const float* w = p[out].data_ptr<float>();
    for (int64_t r = 0; r < 2 * b; ++r) {
      for (int j = 0; j < last; ++j) dv[r * last + j] = d_t[r] * w[j];
    }
    TimesActivationDerivative(hidden_.back(), d);
  }
  // Hidden layers, last to second: H_l = act(H_{l-1} W_l^T + b_l).
  for (size_t l = widths_.size() - 1; l >= 1; --l) {
    const size_t k = 3 + 2 * (l - 1);
    torch::Tensor d = d_view(cur, widths_[l]);
    torch::Tensor g_w = grad_of(k);
    at::mm_out(g_w, d.t(), hidden_[l - 1]);
    AddColumnSums(d.data_ptr<float>(), 2 * b, widths_[l], grad + offsets_[k + 1]);
    torch::Tensor prev = d_view(1 - cur, widths_[l - 1]);
    at::mm_out(prev, d, p[k].detach());
    TimesActivationDerivative(hidden_[l - 1], prev);
    cur = 1 - cur;
  }
  // First layer: the x projection served both halves, so its gradient sums them.
  const int h1 = widths_.front();
  torch::Tensor d_pre = d_view(cur, h1);
  const float* dp = d_pre.data_ptr<float>();
  float* dx = d_x_proj_.data_ptr<float>();
  for (int64_t i = 0; i < b * h1; ++i) dx[i] = dp[i] + dp[b * h1 + i];
  torch::Tensor g_x = grad_of(0), g_z = grad_of(1);
  at::mm_out(g_x, d_x_proj_.t(), Borrow(x_, {b, x_dim_}));
  AddColumnSums(dx, b, h1, grad + offsets_[2]);
  at::mm_out(g_z, d_pre.t(), z_both_);
}

}  // namespace mine
