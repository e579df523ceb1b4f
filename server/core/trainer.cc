#include "server/core/trainer.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>

#include <torch/autograd.h>
#include <torch/serialize.h>

namespace mine {

Trainer::Trainer(const SessionConfig& config)
    : config_(config),
      network_(config.x_dim, config.z_dim, config.hidden_units, config.activation,
               config.seed),
      bound_(MakeBound(config)),
      learning_rate_(config.learning_rate) {
  optimizer_ = std::make_unique<torch::optim::Adam>(
      network_.parameters(), torch::optim::AdamOptions(learning_rate_));
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
  torch::Tensor x = Rows(batch.x, batch.rows, config_.x_dim);
  torch::Tensor z = Rows(batch.z, batch.rows, config_.z_dim);
  torch::Tensor zm = bound_->UsesScoreMatrix()
                         ? torch::Tensor()
                         : Rows(batch.z_marginal, batch.rows, config_.z_dim);
  optimizer_->zero_grad();
  torch::Tensor loss = bound_->TrainingLoss(Score(x, z, zm));
  if (!std::isfinite(loss.item<double>())) return false;
  loss.backward();
  for (const torch::Tensor& p : network_.parameters()) {
    if (!torch::isfinite(p.grad()).all().item<bool>()) return false;
  }
  optimizer_->step();
  return true;
}

std::optional<BoundValue> Trainer::Evaluate(const TrainingRows& rows) const {
  torch::NoGradGuard no_grad;
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
  } else {
    torch::Tensor zm = Rows(rows.z_marginal, rows.rows, config_.z_dim);
    chunks.push_back(Score(x, z, zm));
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
  optimizer_ = std::make_unique<torch::optim::Adam>(
      network_.parameters(), torch::optim::AdamOptions(learning_rate_));
  bound_->Reset();
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
  torch::serialize::OutputArchive adam;
  optimizer_->save(adam);
  archive.write("adam", adam);
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
    optimizer_ = std::make_unique<torch::optim::Adam>(
        network_.parameters(), torch::optim::AdamOptions(learning_rate_));
    torch::serialize::InputArchive adam;
    archive.read("adam", adam);
    optimizer_->load(adam);
  } catch (const c10::Error&) {
    return false;
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

}  // namespace mine
