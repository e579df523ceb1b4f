#ifndef SERVER_CORE_BOUND_H_
#define SERVER_CORE_BOUND_H_

#include <memory>
#include <vector>

#include <torch/types.h>

#include "server/core/session_config.h"

namespace mine {

// Values of the statistics network on one batch.
struct Scores {
  torch::Tensor joint;     // [n]: T(x_i, z_i)
  torch::Tensor marginal;  // [n]: T(x_i, z'_i) with z' from the marginal; paired bounds
  torch::Tensor matrix;    // [n, n]: T(x_i, z_j); only for bounds that UseScoreMatrix()
};

struct BoundValue {
  double value = 0;
  double std_error = 0;  // delta-method standard error over the rows scored
  double cap = 0;        // largest value the bound can take; 0 = none
  int64_t rows = 0;
};

// A variational lower bound on I(X; Z): what a session trains with and what
// it reports. Implementations may keep state across training steps (MINE's
// moving average). Not thread-safe.
class Bound {
 public:
  virtual ~Bound() = default;

  // True when the bound needs T on all n x n pairs of a batch (INFONCE).
  virtual bool UsesScoreMatrix() const { return false; }
  // The loss whose gradient trains T on one batch (may update moving state).
  virtual torch::Tensor TrainingLoss(const Scores& scores) = 0;
  // The same loss without autograd, for paired bounds: given T on n joint
  // and n marginal pairs, writes dLoss/dT into d_joint and d_marginal and
  // returns the loss, updating moving state exactly as TrainingLoss does.
  // REQUIRES: !UsesScoreMatrix().
  virtual double LossAndGradient(const float* joint, const float* marginal, int64_t n,
                                 float* d_joint, float* d_marginal) = 0;
  // The reported value on held-out data, pooled over `chunks` (several only
  // for matrix bounds, whose value depends on the chunk size). No autograd.
  virtual BoundValue Evaluate(const std::vector<Scores>& chunks) const = 0;
  // Forgets moving state, after a roll-back.
  virtual void Reset() {}
  // Moving state for checkpoints (empty for stateless bounds). LoadState
  // returns false when `state` is not one SaveState of this bound produced.
  virtual std::vector<double> SaveState() const { return {}; }
  virtual bool LoadState(const std::vector<double>& state) { return state.empty(); }
};

// REQUIRES: config is resolved (ResolveSessionConfig).
std::unique_ptr<Bound> MakeBound(const SessionConfig& config);

}  // namespace mine

#endif  // SERVER_CORE_BOUND_H_
