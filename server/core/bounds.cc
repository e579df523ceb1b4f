// The four bounds behind mine::Bound. See ANCHORS.md / Belghazi et al. 2018
// (MINE, MINE-f), van den Oord et al. 2018 (InfoNCE), Song & Ermon 2020 (SMILE).
#include <algorithm>
#include <cmath>
#include <limits>

#include "server/core/bound.h"

namespace mine {
namespace {

double Softplus(double v) { return v > 0 ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v)); }
double Sigmoid(double v) { return v >= 0 ? 1 / (1 + std::exp(-v)) : std::exp(v) / (1 + std::exp(v)); }

struct Moments {
  double mean = 0;
  double variance = 0;
  int64_t n = 0;
};

Moments MomentsOf(const torch::Tensor& values) {
  torch::Tensor v = values.to(torch::kFloat64).reshape({-1});
  Moments m;
  m.n = v.numel();
  m.mean = v.mean().item<double>();
  m.variance = m.n > 1 ? v.var().item<double>() : 0.0;
  return m;
}

torch::Tensor Cat(const std::vector<Scores>& chunks, torch::Tensor Scores::*field) {
  std::vector<torch::Tensor> parts;
  for (const Scores& s : chunks) parts.push_back(s.*field);
  return torch::cat(parts);
}

// E_P[T] - log E_Q[e^{T_q}] and its delta-method standard error; T_q may be
// clipped (SMILE). Computed in float64 with the max factored out.
BoundValue DonskerVaradhan(const torch::Tensor& joint, const torch::Tensor& marginal) {
  const Moments p = MomentsOf(joint);
  torch::Tensor q = marginal.to(torch::kFloat64);
  const double shift = q.max().item<double>();
  const Moments e = MomentsOf(torch::exp(q - shift));
  BoundValue out;
  out.value = p.mean - (shift + std::log(e.mean));
  out.std_error = std::sqrt(p.variance / p.n + e.variance / (e.n * e.mean * e.mean));
  out.rows = p.n;
  return out;
}

// MINE: Donsker-Varadhan, trained with the bias-corrected gradient of
// Belghazi et al.: E_B[grad T] - E_B[grad T e^T] / EMA(E_B[e^T]).
// The moving average is kept as a logarithm so that it never overflows.
class MineBound : public Bound {
 public:
  explicit MineBound(double ema_rate) : rate_(ema_rate) {}

  torch::Tensor TrainingLoss(const Scores& s) override {
    torch::Tensor q = s.marginal;
    const double n = static_cast<double>(q.numel());
    UpdateAverage(torch::logsumexp(q.detach().to(torch::kFloat64), 0).item<double>() -
                  std::log(n));
    // Gradient of mean(e^{T - log_ema}) is E_B[grad T e^T] / EMA.
    return torch::exp(q - log_ema_).mean() - s.joint.mean();
  }

  double LossAndGradient(const float* joint, const float* marginal, int64_t n, float* d_joint,
                         float* d_marginal) override {
    double hi = -std::numeric_limits<double>::infinity();
    for (int64_t i = 0; i < n; ++i) hi = std::max(hi, static_cast<double>(marginal[i]));
    double sum_exp = 0;
    for (int64_t i = 0; i < n; ++i) sum_exp += std::exp(marginal[i] - hi);
    UpdateAverage(hi + std::log(sum_exp) - std::log(static_cast<double>(n)));
    double loss = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double w = std::exp(marginal[i] - log_ema_) / n;
      d_marginal[i] = static_cast<float>(w);
      d_joint[i] = static_cast<float>(-1.0 / n);
      loss += w - joint[i] / static_cast<double>(n);
    }
    return loss;
  }

  BoundValue Evaluate(const std::vector<Scores>& chunks) const override {
    return DonskerVaradhan(Cat(chunks, &Scores::joint), Cat(chunks, &Scores::marginal));
  }

  void Reset() override { has_ema_ = false; }

  std::vector<double> SaveState() const override { return {has_ema_ ? 1.0 : 0.0, log_ema_}; }
  bool LoadState(const std::vector<double>& state) override {
    if (state.size() != 2) return false;
    has_ema_ = state[0] != 0;
    log_ema_ = state[1];
    return true;
  }

 private:
  // Folds one batch's log E_B[e^T] into the log-domain moving average.
  void UpdateAverage(double log_mean_exp) {
    if (!has_ema_) {
      log_ema_ = log_mean_exp;
      has_ema_ = true;
      return;
    }
    const double a = std::log1p(-rate_) + log_ema_;
    const double b = std::log(rate_) + log_mean_exp;
    const double hi = std::max(a, b);
    log_ema_ = hi + std::log(std::exp(a - hi) + std::exp(b - hi));
  }

  double rate_;
  bool has_ema_ = false;
  double log_ema_ = 0;
};

// MINE-f / NWJ: E_P[T] - E_Q[e^{T-1}], unbiased minibatch gradients.
class MineFBound : public Bound {
 public:
  torch::Tensor TrainingLoss(const Scores& s) override {
    return torch::exp(s.marginal - 1.0).mean() - s.joint.mean();
  }

  double LossAndGradient(const float* joint, const float* marginal, int64_t n, float* d_joint,
                         float* d_marginal) override {
    double loss = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double w = std::exp(marginal[i] - 1.0) / n;
      d_marginal[i] = static_cast<float>(w);
      d_joint[i] = static_cast<float>(-1.0 / n);
      loss += w - joint[i] / static_cast<double>(n);
    }
    return loss;
  }

  BoundValue Evaluate(const std::vector<Scores>& chunks) const override {
    const Moments p = MomentsOf(Cat(chunks, &Scores::joint));
    const Moments e = MomentsOf(torch::exp(Cat(chunks, &Scores::marginal).to(torch::kFloat64) - 1.0));
    BoundValue out;
    out.value = p.mean - e.mean;
    out.std_error = std::sqrt(p.variance / p.n + e.variance / e.n);
    out.rows = p.n;
    return out;
  }
};

// InfoNCE: mean_i [T_ii - logsumexp_j T_ij] + log K, at most log K.
class InfoNceBound : public Bound {
 public:
  bool UsesScoreMatrix() const override { return true; }

  torch::Tensor TrainingLoss(const Scores& s) override {
    return -RowTerms(s.matrix).mean();
  }

  // Not a paired bound: a NaN loss makes a caller that ignores the
  // precondition refuse the step instead of applying a wrong update.
  double LossAndGradient(const float*, const float*, int64_t, float*, float*) override {
    return std::numeric_limits<double>::quiet_NaN();
  }

  BoundValue Evaluate(const std::vector<Scores>& chunks) const override {
    std::vector<torch::Tensor> terms;
    double cap = std::numeric_limits<double>::infinity();
    for (const Scores& s : chunks) {
      terms.push_back(RowTerms(s.matrix.to(torch::kFloat64)));
      cap = std::min(cap, std::log(static_cast<double>(s.matrix.size(1))));
    }
    const Moments m = MomentsOf(torch::cat(terms));
    BoundValue out;
    out.value = m.mean;
    out.std_error = std::sqrt(m.variance / m.n);
    out.cap = cap;
    out.rows = m.n;
    return out;
  }

 private:
  static torch::Tensor RowTerms(const torch::Tensor& matrix) {
    const double log_k = std::log(static_cast<double>(matrix.size(1)));
    return matrix.diagonal() - torch::logsumexp(matrix, 1) + log_k;
  }
};

// SMILE: trained with the Jensen-Shannon objective (whose optimum is also
// log dP/dQ), reported as DV with T clipped to [-tau, tau] in the partition
// term, which bounds the variance of the estimate.
class SmileBound : public Bound {
 public:
  explicit SmileBound(double clip) : clip_(clip) {}

  torch::Tensor TrainingLoss(const Scores& s) override {
    return torch::softplus(-s.joint).mean() + torch::softplus(s.marginal).mean();
  }

  // softplus' = sigmoid: d/dT_p softplus(-T_p) = -sigmoid(-T_p).
  double LossAndGradient(const float* joint, const float* marginal, int64_t n, float* d_joint,
                         float* d_marginal) override {
    double loss = 0;
    for (int64_t i = 0; i < n; ++i) {
      loss += (Softplus(-joint[i]) + Softplus(marginal[i])) / n;
      d_joint[i] = static_cast<float>(-Sigmoid(-joint[i]) / n);
      d_marginal[i] = static_cast<float>(Sigmoid(marginal[i]) / n);
    }
    return loss;
  }

  BoundValue Evaluate(const std::vector<Scores>& chunks) const override {
    return DonskerVaradhan(Cat(chunks, &Scores::joint),
                           torch::clamp(Cat(chunks, &Scores::marginal), -clip_, clip_));
  }

 private:
  double clip_;
};

}  // namespace

std::unique_ptr<Bound> MakeBound(const SessionConfig& config) {
  switch (config.estimator) {
    case EstimatorKind::kMineF: return std::make_unique<MineFBound>();
    case EstimatorKind::kInfoNce: return std::make_unique<InfoNceBound>();
    case EstimatorKind::kSmile: return std::make_unique<SmileBound>(config.smile_clip);
    case EstimatorKind::kMine:
    case EstimatorKind::kUnspecified: break;
  }
  return std::make_unique<MineBound>(config.ema_rate);
}

}  // namespace mine
