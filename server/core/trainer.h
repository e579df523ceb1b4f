#ifndef SERVER_CORE_TRAINER_H_
#define SERVER_CORE_TRAINER_H_

#include <memory>
#include <optional>
#include <vector>

#include <torch/serialize/input-archive.h>
#include <torch/types.h>

#include "server/core/bound.h"
#include "server/core/flat_adam.h"
#include "server/core/internal/byte_io.h"
#include "server/core/paired_gradient.h"
#include "server/core/session_config.h"
#include "server/core/statistics_network.h"

namespace mine {

// Row-major, already standardised rows handed to the trainer.
struct TrainingRows {
  const float* x = nullptr;           // [rows, x_dim]
  const float* z = nullptr;           // [rows, z_dim]
  const float* z_marginal = nullptr;  // [rows, z_dim]; unused by matrix bounds
  int64_t rows = 0;
};

// The torch side of a session: statistics network, Adam, the bound, and the
// last parameters known to be finite. Paired bounds train through a
// hand-written backward pass (PairedGradient) into one flat gradient; the
// score-matrix bound (INFONCE) through autograd. Owned by one Session and
// driven by one worker at a time. Not thread-safe.
class Trainer {
 public:
  explicit Trainer(const SessionConfig& config);  // REQUIRES: resolved config
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // One optimisation step. Returns false, without applying the update, when
  // the loss or a gradient is not finite.
  bool Step(const TrainingRows& batch);

  // The bound on held-out rows; nullopt when it is not finite. Matrix bounds
  // are scored in chunks of the training batch size.
  std::optional<BoundValue> Evaluate(const TrainingRows& rows) const;

  // Remembers the current parameters as the last good ones.
  void MarkGood();
  // Restores the last good parameters, multiplies the learning rate by
  // `factor`, and restarts the optimiser and the bound's moving state.
  void RollBack(double factor);

  double learning_rate() const { return learning_rate_; }

  // Checkpoint support: the learning rate, the bound's moving state, the
  // network's current and last good parameters and Adam's moments. LoadFrom
  // returns false (leaving the trainer unusable for anything but deletion)
  // on input that does not fit this trainer's config.
  void SaveTo(internal::ByteWriter* out) const;
  bool LoadFrom(internal::ByteReader* in);

 private:
  Scores Score(const torch::Tensor& x, const torch::Tensor& z,
               const torch::Tensor& z_marginal) const;
  torch::Tensor Rows(const float* data, int64_t rows, int dim) const;
  // Fill grad_ for one batch; false when the loss is not finite.
  bool PairedGradientStep(const TrainingRows& batch);
  bool AutogradGradientStep(const TrainingRows& batch);
  // Reads Adam's state in the format of checkpoints written before FlatAdam
  // (torch::optim::Adam's archive).
  bool LoadTorchAdam(torch::serialize::InputArchive& archive);

  SessionConfig config_;
  StatisticsNetwork network_;
  std::unique_ptr<Bound> bound_;
  double learning_rate_;
  mutable PairedGradient paired_;  // buffers only; Evaluate uses them too
  FlatAdam adam_;
  std::vector<float> grad_;  // dLoss/dparameters, flat, parameters() order
  std::vector<float> d_t_;   // dLoss/dT for the 2B pairs of a paired step
  std::vector<torch::Tensor> last_good_;
};

}  // namespace mine

#endif  // SERVER_CORE_TRAINER_H_
