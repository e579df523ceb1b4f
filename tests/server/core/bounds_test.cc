#include <cmath>

#include "gtest/gtest.h"
#include "server/core/bound.h"

namespace mine {
namespace {

SessionConfig ConfigFor(EstimatorKind kind) {
  SessionConfig c;
  c.x_dim = 1;
  c.z_dim = 1;
  c.estimator = kind;
  c.ema_rate = 0.01;
  c.smile_clip = 5;
  return c;
}

Scores Paired(std::vector<float> joint, std::vector<float> marginal) {
  Scores s;
  s.joint = torch::tensor(joint);
  s.marginal = torch::tensor(marginal);
  return s;
}

TEST(BoundsTest, MineReportsDonskerVaradhan) {
  auto bound = MakeBound(ConfigFor(EstimatorKind::kMine));
  // E_P[T] = 2, log E_Q[e^T] = log((e^0 + e^1) / 2).
  BoundValue v = bound->Evaluate({Paired({1, 3}, {0, 1})});
  EXPECT_NEAR(v.value, 2 - std::log((1 + std::exp(1.0)) / 2), 1e-6);
  EXPECT_GT(v.std_error, 0);
  EXPECT_EQ(v.rows, 2);
  EXPECT_EQ(v.cap, 0);
}

TEST(BoundsTest, MineStaysFiniteWhenScoresWouldOverflowExp) {
  auto bound = MakeBound(ConfigFor(EstimatorKind::kMine));
  BoundValue v = bound->Evaluate({Paired({1000, 1000}, {900, 950})});
  EXPECT_TRUE(std::isfinite(v.value));
  torch::Tensor marginal = torch::tensor({900.f, 950.f}, torch::requires_grad());
  Scores s;
  s.joint = torch::tensor({1000.f, 1000.f}, torch::requires_grad());
  s.marginal = marginal;
  for (int step = 0; step < 3; ++step) {
    torch::Tensor loss = bound->TrainingLoss(s);
    ASSERT_TRUE(std::isfinite(loss.item<double>()));
    loss.backward();
    EXPECT_TRUE(torch::isfinite(marginal.grad()).all().item<bool>());
    marginal.grad().zero_();
  }
}

TEST(BoundsTest, MineGradientUsesTheMovingAverageInTheDenominator) {
  auto bound = MakeBound(ConfigFor(EstimatorKind::kMine));
  // First batch: the average starts at E_B[e^T] = 1, so d/dT_q = e^{T_q} / (n * 1).
  torch::Tensor marginal = torch::zeros({4}, torch::requires_grad());
  Scores s;
  s.joint = torch::zeros({4}, torch::requires_grad());
  s.marginal = marginal;
  bound->TrainingLoss(s).backward();
  EXPECT_NEAR(marginal.grad()[0].item<double>(), 0.25, 1e-6);
  // Second batch with E_B[e^T] = e: the average moves 1% of the way, so the
  // gradient is e / (n * (0.99 + 0.01 e)), not e / (n * e) as plain DV would give.
  torch::Tensor marginal2 = torch::ones({4}, torch::requires_grad());
  s.marginal = marginal2;
  bound->TrainingLoss(s).backward();
  const double e = std::exp(1.0);
  EXPECT_NEAR(marginal2.grad()[0].item<double>(), e / (4 * (0.99 + 0.01 * e)), 1e-5);
}

TEST(BoundsTest, MineFReportsNwj) {
  auto bound = MakeBound(ConfigFor(EstimatorKind::kMineF));
  BoundValue v = bound->Evaluate({Paired({1, 3}, {1, 1})});
  EXPECT_NEAR(v.value, 2 - 1, 1e-6);  // E_Q[e^{T-1}] = 1
}

TEST(BoundsTest, InfoNceIsCappedAtLogBatchSize) {
  auto bound = MakeBound(ConfigFor(EstimatorKind::kInfoNce));
  ASSERT_TRUE(bound->UsesScoreMatrix());
  Scores s;
  s.matrix = torch::full({4, 4}, -100.f);
  s.matrix.diagonal().fill_(100.f);  // perfectly separated pairs
  BoundValue v = bound->Evaluate({s});
  EXPECT_NEAR(v.value, std::log(4.0), 1e-6);
  EXPECT_NEAR(v.cap, std::log(4.0), 1e-12);
  Scores flat;
  flat.matrix = torch::zeros({4, 4});
  EXPECT_NEAR(bound->Evaluate({flat}).value, 0, 1e-6);
}

TEST(BoundsTest, SmileClipsThePartitionTerm) {
  auto bound = MakeBound(ConfigFor(EstimatorKind::kSmile));
  BoundValue v = bound->Evaluate({Paired({0, 0}, {50, 50})});
  EXPECT_NEAR(v.value, -5, 1e-6);  // e^50 clipped to e^5
}

TEST(BoundsTest, SmileTrainsWithJensenShannon) {
  auto bound = MakeBound(ConfigFor(EstimatorKind::kSmile));
  torch::Tensor loss = bound->TrainingLoss(Paired({0, 0}, {0, 0}));
  EXPECT_NEAR(loss.item<double>(), 2 * std::log(2.0), 1e-6);  // softplus(0) twice
}

}  // namespace
}  // namespace mine
