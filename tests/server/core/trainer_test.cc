// The hand-written training step against autograd and torch::optim::Adam:
// PairedGradient must give the gradients autograd gives for the same loss,
// FlatAdam the updates torch's Adam gives, and Trainer must keep its
// contract (no update on a non-finite step, chunked evaluation = one pass).
#include <cmath>
#include <limits>
#include <sstream>
#include <vector>

#include <torch/optim/adam.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include "gtest/gtest.h"
#include "server/core/bound.h"
#include "server/core/flat_adam.h"
#include "server/core/paired_gradient.h"
#include "server/core/session_config.h"
#include "server/core/statistics_network.h"
#include "server/core/trainer.h"

namespace mine {
namespace {

constexpr int kXDim = 2;
constexpr int kZDim = 3;
constexpr int64_t kRows = 7;

SessionConfig Config(EstimatorKind estimator, Activation activation, std::vector<int> hidden) {
  SessionConfig c;
  c.x_dim = kXDim;
  c.z_dim = kZDim;
  c.estimator = estimator;
  c.activation = activation;
  c.hidden_units = std::move(hidden);
  c.ema_rate = 0.01;
  c.smile_clip = 5;
  c.learning_rate = 1e-3;
  c.batch_size = 4;
  c.seed = 3;
  return c;
}

std::vector<float> Random(int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  torch::Tensor t = torch::randn({n});
  return std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + n);
}

torch::Tensor View(std::vector<float>& v, int64_t rows, int64_t cols) {
  return torch::from_blob(v.data(), {rows, cols}, torch::kFloat32);
}

struct GradientCase {
  EstimatorKind estimator;
  Activation activation;
  std::vector<int> hidden;
};

class PairedGradientTest : public ::testing::TestWithParam<GradientCase> {};

TEST_P(PairedGradientTest, MatchesAutogradOfTheTrainingLoss) {
  const GradientCase& c = GetParam();
  const SessionConfig config = Config(c.estimator, c.activation, c.hidden);
  StatisticsNetwork network(kXDim, kZDim, c.hidden, c.activation, /*seed=*/11);
  std::unique_ptr<Bound> autograd_bound = MakeBound(config);
  std::unique_ptr<Bound> manual_bound = MakeBound(config);
  PairedGradient manual(network);
  std::vector<float> x = Random(kRows * kXDim, 1), z = Random(kRows * kZDim, 2),
                     zm = Random(kRows * kZDim, 3);
  // Two steps on the same rows: the second uses MINE's moving average.
  for (int step = 0; step < 2; ++step) {
    for (torch::Tensor& p : network.parameters()) p.mutable_grad() = torch::Tensor();
    torch::Tensor xt = View(x, kRows, kXDim), zt = View(z, kRows, kZDim),
                  zmt = View(zm, kRows, kZDim);
    torch::Tensor t = network.Forward(torch::cat({xt, xt}), torch::cat({zt, zmt}));
    Scores s;
    s.joint = t.slice(0, 0, kRows);
    s.marginal = t.slice(0, kRows);
    torch::Tensor loss = autograd_bound->TrainingLoss(s);
    loss.backward();

    const float* manual_t = manual.Forward(x.data(), z.data(), zm.data(), kRows);
    for (int64_t i = 0; i < 2 * kRows; ++i) {
      EXPECT_NEAR(manual_t[i], t[i].item<float>(), 1e-5) << "T of pair " << i;
    }
    std::vector<float> d_t(2 * kRows);
    const double manual_loss = manual_bound->LossAndGradient(
        manual_t, manual_t + kRows, kRows, d_t.data(), d_t.data() + kRows);
    EXPECT_NEAR(manual_loss, loss.item<double>(), 1e-5) << "step " << step;
    std::vector<float> grad(manual.num_parameters());
    manual.Backward(d_t.data(), grad.data());
    int64_t offset = 0;
    for (size_t k = 0; k < network.parameters().size(); ++k) {
      torch::Tensor g = network.parameters()[k].grad().contiguous();
      for (int64_t i = 0; i < g.numel(); ++i) {
        EXPECT_NEAR(grad[offset + i], g.data_ptr<float>()[i], 1e-5)
            << "parameter " << k << " value " << i << " step " << step;
      }
      offset += g.numel();
    }
    EXPECT_EQ(offset, manual.num_parameters());
  }
}

INSTANTIATE_TEST_SUITE_P(
    BoundsActivationsDepths, PairedGradientTest,
    ::testing::Values(GradientCase{EstimatorKind::kMine, Activation::kElu, {8, 6}},
                      GradientCase{EstimatorKind::kMine, Activation::kRelu, {5}},
                      GradientCase{EstimatorKind::kMineF, Activation::kTanh, {8, 6}},
                      GradientCase{EstimatorKind::kMineF, Activation::kElu, {4, 5, 3}},
                      GradientCase{EstimatorKind::kSmile, Activation::kElu, {8, 6}},
                      GradientCase{EstimatorKind::kSmile, Activation::kRelu, {6, 6}}));

TEST(FlatAdamTest, MatchesTorchAdam) {
  StatisticsNetwork ours(kXDim, kZDim, {6, 4}, Activation::kElu, 5);
  StatisticsNetwork theirs(kXDim, kZDim, {6, 4}, Activation::kElu, 5);
  int64_t n = 0;
  for (const torch::Tensor& p : ours.parameters()) n += p.numel();
  FlatAdam adam(n);
  torch::optim::Adam reference(theirs.parameters(), torch::optim::AdamOptions(1e-2));
  for (int step = 0; step < 5; ++step) {
    std::vector<float> grad = Random(n, 100 + step);
    int64_t offset = 0;
    for (torch::Tensor& p : theirs.parameters()) {
      p.mutable_grad() =
          torch::from_blob(grad.data() + offset, p.sizes(), torch::kFloat32).clone();
      offset += p.numel();
    }
    reference.step();
    adam.Step(ours.parameters(), grad.data(), 1e-2);
  }
  EXPECT_EQ(adam.steps(), 5);
  for (size_t k = 0; k < ours.parameters().size(); ++k) {
    EXPECT_TRUE(torch::allclose(ours.parameters()[k], theirs.parameters()[k], 1e-5, 1e-6))
        << "parameter " << k;
  }
}

TEST(TrainerTest, RefusesANonFiniteStepWithoutUpdating) {
  const SessionConfig config = Config(EstimatorKind::kMine, Activation::kElu, {8});
  Trainer trainer(config);
  std::vector<float> x = Random(4 * kXDim, 1), z = Random(4 * kZDim, 2), zm = Random(4 * kZDim, 3);
  std::vector<float> probe_x = x, probe_z = z, probe_zm = zm;
  auto value = [&] {
    return trainer.Evaluate({probe_x.data(), probe_z.data(), probe_zm.data(), 4})->value;
  };
  const double before = value();
  x[1] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(trainer.Step({x.data(), z.data(), zm.data(), 4}));
  EXPECT_EQ(value(), before);
  // As a session does after a refused step: back to the last good state.
  trainer.RollBack(1.0);
  x[1] = 0.5f;
  EXPECT_TRUE(trainer.Step({x.data(), z.data(), zm.data(), 4}));
  EXPECT_NE(value(), before);
}

TEST(TrainerTest, ChunkedEvaluationEqualsOnePass) {
  // 7 rows in chunks of the batch size 4: a full chunk and a short tail.
  const SessionConfig config = Config(EstimatorKind::kMine, Activation::kElu, {8, 6});
  Trainer trainer(config);
  StatisticsNetwork network(kXDim, kZDim, config.hidden_units, config.activation, config.seed);
  std::vector<float> x = Random(kRows * kXDim, 4), z = Random(kRows * kZDim, 5),
                     zm = Random(kRows * kZDim, 6);
  torch::NoGradGuard no_grad;
  torch::Tensor xt = View(x, kRows, kXDim);
  Scores s;
  s.joint = network.Forward(xt, View(z, kRows, kZDim));
  s.marginal = network.Forward(xt, View(zm, kRows, kZDim));
  const BoundValue expected = MakeBound(config)->Evaluate({s});
  const std::optional<BoundValue> got = trainer.Evaluate({x.data(), z.data(), zm.data(), kRows});
  ASSERT_TRUE(got.has_value());
  EXPECT_NEAR(got->value, expected.value, 1e-6);
  EXPECT_NEAR(got->std_error, expected.std_error, 1e-6);
  EXPECT_EQ(got->rows, kRows);
}

// Checkpoints written before FlatAdam hold torch::optim::Adam's archive.
TEST(TrainerTest, LoadsCheckpointsWithTorchAdamState) {
  const SessionConfig config = Config(EstimatorKind::kMine, Activation::kElu, {8});
  StatisticsNetwork network(kXDim, kZDim, config.hidden_units, config.activation, 9);
  torch::optim::Adam adam(network.parameters(), torch::optim::AdamOptions(1e-3));
  for (torch::Tensor& p : network.parameters()) p.mutable_grad() = torch::ones_like(p);
  adam.step();
  torch::serialize::OutputArchive archive, adam_archive;
  for (size_t i = 0; i < network.parameters().size(); ++i) {
    archive.write("p" + std::to_string(i), network.parameters()[i].detach());
    archive.write("g" + std::to_string(i), network.parameters()[i].detach());
  }
  adam.save(adam_archive);
  archive.write("adam", adam_archive);
  std::ostringstream blob;
  archive.save_to(blob);
  internal::ByteWriter w;
  w.F64(1e-3);
  w.Doubles({1.0, 0.25});
  w.Str(blob.str());

  Trainer trainer(config);
  internal::ByteReader r(w.bytes());
  ASSERT_TRUE(trainer.LoadFrom(&r));
  std::vector<float> x = Random(4 * kXDim, 1), z = Random(4 * kZDim, 2), zm = Random(4 * kZDim, 3);
  EXPECT_TRUE(trainer.Step({x.data(), z.data(), zm.data(), 4}));
  // And what it saves now loads into a fresh trainer.
  internal::ByteWriter again;
  trainer.SaveTo(&again);
  Trainer restored(config);
  internal::ByteReader r2(again.bytes());
  EXPECT_TRUE(restored.LoadFrom(&r2));
}

}  // namespace
}  // namespace mine
