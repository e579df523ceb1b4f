#include "server/core/trainer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>
#include <string>

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

#include <c10/core/InferenceMode.h>
#include <torch/autograd.h>
#include <torch/optim/adam.h>
#include <torch/serialize.h>

namespace mine {

namespace {

// Treats denormal floats as zero while in scope, on this thread. Gradients
// and Adam's second moments of near-converged weights drift into the
// denormal range, where every multiply takes a slow microcode path (a
// session's step rate dropped ~1.5x here); values below 1e-38 do not matter
// to an estimate.
class FlushDenormals {
 public:
#if defined(__SSE2__)
  FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFlushToZero | kDenormalsAreZero); }
  ~FlushDenormals() { _mm_setcsr(saved_); }

 private:
  static constexpr unsigned kFlushToZero = 0x8000;
  static constexpr unsigned kDenormalsAreZero = 0x0040;
  unsigned saved_;
#endif
};

// Whether every value is finite: a NaN or Inf has all exponent bits set.
bool AllFinite(const std::vector<float>& values) {
  uint32_t bad = 0;
  for (float v : values) {
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    bad |= static_cast<uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
  }
  return bad == 0;
}

torch::Tensor Flat(const std::vector<float>& values) {
  return torch::from_blob(const_cast<float*>(values.data()),
                          {static_cast<int64_t>(values.size())}, torch::kFloat32)
      .clone();
}

std::vector<float> Floats(const torch::Tensor& t) {
  torch::Tensor c = t.to(torch::kFloat32).contiguous().reshape({-1});
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

}  // namespace

Trainer::Trainer(const SessionConfig& config)
    : config_(config),
      network_(config.x_dim, config.z_dim, config.hidden_units, config.activation,
               config.seed),
      bound_(MakeBound(config)),
      learning_rate_(config.learning_rate),
      paired_(network_),
      adam_(paired_.num_parameters()),
      grad_(paired_.num_parameters()) {
  MarkGood();
}

torch::Tensor Trainer::Rows(const float* data, int64_t rows, int dim) const {
  // from_blob borrows; the caller's buffer outlives the step.
  return torch::from_blob(const_cast<float*>(data), {rows, dim}, torch::kFloat32);
}

Scores Trainer::Score(const torch::Tensor& x, const torch::Tensor& z,
                      const torch::Tensor& z_marginal) const {
  Scores s;
  if (bound_->UsesScoreMatrix()) {
    s.matrix = network_.ScoreMatrix(x, z);
    s.joint = s.matrix.diagonal();
    return s;
  }
  // One pass over joint and marginal pairs together: fewer, larger ops.
  torch::Tensor t = network_.Forward(torch::cat({x, x}), torch::cat({z, z_marginal}));
  const int64_t n = x.size(0);
  s.joint = t.slice(0, 0, n);
  s.marginal = t.slice(0, n);
  return s;
}

bool Trainer::Step(const TrainingRows& batch) {
  FlushDenormals flush;
  const bool finite_loss =
      bound_->UsesScoreMatrix() ? AutogradGradientStep(batch) : PairedGradientStep(batch);
  if (!finite_loss || !AllFinite(grad_)) return false;
  adam_.Step(network_.parameters(), grad_.data(), learning_rate_);
  return true;
}

bool Trainer::PairedGradientStep(const TrainingRows& batch) {
  const int64_t b = batch.rows;
  const float* t = paired_.Forward(batch.x, batch.z, batch.z_marginal, b);
  d_t_.resize(2 * b);
  const double loss = bound_->LossAndGradient(t, t + b, b, d_t_.data(), d_t_.data() + b);
  if (!std::isfinite(loss)) return false;
  paired_.Backward(d_t_.data(), grad_.data());
  return true;
}

bool Trainer::AutogradGradientStep(const TrainingRows& batch) {
  std::vector<torch::Tensor>& params = network_.parameters();
  for (torch::Tensor& p : params) p.mutable_grad() = torch::Tensor();
  torch::Tensor loss = bound_->TrainingLoss(Score(Rows(batch.x, batch.rows, config_.x_dim),
                                                  Rows(batch.z, batch.rows, config_.z_dim),
                                                  torch::Tensor()));
  if (!std::isfinite(loss.item<double>())) return false;
  loss.backward();
  float* out = grad_.data();
  for (const torch::Tensor& p : params) {
    torch::Tensor g = p.grad().contiguous();
    std::memcpy(out, g.data_ptr<float>(), sizeof(float) * g.numel());
    out += g.numel();
  }
  return true;
}

std::optional<BoundValue> Trainer::Evaluate(const TrainingRows& rows) const {
  c10::InferenceMode inference;
  FlushDenormals flush;
  torch::Tensor x = Rows(rows.x, rows.rows, config_.x_dim);
  torch::Tensor z = Rows(rows.z, rows.rows, config_.z_dim);
  std::vector<Scores> chunks;
  if (bound_->UsesScoreMatrix()) {
    // The value of a matrix bound depends on how many negatives each row
    // sees: score in chunks of the training batch size, dropping a short tail.
    const int64_t k = std::min<int64_t>(config_.batch_size, rows.rows);
    for (int64_t start = 0; start + k <= rows.rows; start += k) {
      chunks.push_back(Score(x.slice(0, start, start + k), z.slice(0, start, start + k),
                             torch::Tensor()));
    }
  }
  // Paired bounds: T in chunks of the batch size through the training
  // buffers (no large temporaries; the x projection is shared).
  std::vector<float> joint, marginal;
  if (!bound_->UsesScoreMatrix()) {
    joint.resize(rows.rows);
    marginal.resize(rows.rows);
    for (int64_t start = 0; start < rows.rows; start += config_.batch_size) {
      const int64_t m = std::min<int64_t>(config_.batch_size, rows.rows - start);
      const float* t = paired_.Forward(rows.x + start * config_.x_dim,
                                       rows.z + start * config_.z_dim,
                                       rows.z_marginal + start * config_.z_dim, m);
      std::copy_n(t, m, joint.begin() + start);
      std::copy_n(t + m, m, marginal.begin() + start);
    }
    Scores s;
    s.joint = Rows(joint.data(), rows.rows, 1).view({-1});
    s.marginal = Rows(marginal.data(), rows.rows, 1).view({-1});
    chunks.push_back(s);
  }
  BoundValue value = bound_->Evaluate(chunks);
  if (!std::isfinite(value.value) || !std::isfinite(value.std_error)) {
    return std::nullopt;
  }
  return value;
}

void Trainer::MarkGood() {
  last_good_.clear();
  for (const torch::Tensor& p : network_.parameters()) {
    last_good_.push_back(p.detach().clone());
  }
}

void Trainer::RollBack(double factor) {
  {
    torch::NoGradGuard no_grad;
    auto& params = network_.parameters();
    for (size_t i = 0; i < params.size(); ++i) params[i].copy_(last_good_[i]);
  }
  learning_rate_ *= factor;
  adam_.Reset();
  bound_->Reset();
}

bool Trainer::LoadTorchAdam(torch::serialize::InputArchive& archive) {
  torch::serialize::InputArchive saved;
  if (!archive.try_read("adam", saved)) return false;
  torch::optim::Adam legacy(network_.parameters(), torch::optim::AdamOptions(learning_rate_));
  legacy.load(saved);
  int64_t steps = 0;
  std::vector<float> m, v;
  for (const torch::Tensor& p : network_.parameters()) {
    auto it = legacy.state().find(c10::guts::to_string(p.unsafeGetTensorImpl()));
    if (it == legacy.state().end()) {  // saved before the first step
      m.insert(m.end(), p.numel(), 0.0f);
      v.insert(v.end(), p.numel(), 0.0f);
      continue;
    }
    const auto& state = static_cast<const torch::optim::AdamParamState&>(*it->second);
    steps = state.step();
    std::vector<float> pm = Floats(state.exp_avg()), pv = Floats(state.exp_avg_sq());
    m.insert(m.end(), pm.begin(), pm.end());
    v.insert(v.end(), pv.begin(), pv.end());
  }
  return adam_.Load(steps, std::move(m), std::move(v));
}

void Trainer::SaveTo(internal::ByteWriter* out) const {
  out->F64(learning_rate_);
  out->Doubles(bound_->SaveState());
  torch::serialize::OutputArchive archive;
  const auto& params = network_.parameters();
  for (size_t i = 0; i < params.size(); ++i) {
    archive.write("p" + std::to_string(i), params[i].detach());
    archive.write("g" + std::to_string(i), last_good_[i]);
  }
  archive.write("adam_step", torch::tensor(adam_.steps(), torch::kInt64));
  archive.write("adam_m", Flat(adam_.first_moment()));
  archive.write("adam_v", Flat(adam_.second_moment()));
  std::ostringstream blob;
  archive.save_to(blob);
  out->Str(blob.str());
}

bool Trainer::LoadFrom(internal::ByteReader* in) {
  double learning_rate;
  std::vector<double> bound_state;
  std::string blob;
  if (!in->F64(&learning_rate) || !in->Doubles(&bound_state) || !in->Str(&blob) ||
      !(learning_rate > 0) || !bound_->LoadState(bound_state)) {
    return false;
  }
  try {
    std::istringstream stream(blob);
    torch::serialize::InputArchive archive;
    archive.load_from(stream);
    torch::NoGradGuard no_grad;
    auto& params = network_.parameters();
    for (size_t i = 0; i < params.size(); ++i) {
      torch::Tensor p, g;
      archive.read("p" + std::to_string(i), p);
      archive.read("g" + std::to_string(i), g);
      if (!p.sizes().equals(params[i].sizes()) || !g.sizes().equals(params[i].sizes())) {
        return false;
      }
      params[i].copy_(p);
      last_good_[i] = g.clone();
    }
    learning_rate_ = learning_rate;
    torch::Tensor steps, m, v;
    if (archive.try_read("adam_step", steps) && archive.try_read("adam_m", m) &&
        archive.try_read("adam_v", v)) {
      if (!adam_.Load(steps.item<int64_t>(), Floats(m), Floats(v))) return false;
    } else if (!LoadTorchAdam(archive)) {
      return false;
    }
  } catch (const c10::Error&) {
    return false;
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

}  // namespace mine
