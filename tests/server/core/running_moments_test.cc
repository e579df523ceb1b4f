#include "server/core/running_moments.h"

#include <random>

#include "gtest/gtest.h"

namespace mine {
namespace {

TEST(RunningMomentsTest, MatchesExactMeanAndStddevWithinTheHorizon) {
  RunningMoments m(2, 100);
  const float rows[4][2] = {{1, 10}, {2, 10}, {3, 10}, {4, 10}};
  for (const auto& row : rows) m.Add(row);
  EXPECT_DOUBLE_EQ(m.mean(0), 2.5);
  EXPECT_NEAR(m.stddev(0), std::sqrt(1.25), 1e-12);  // population stddev
  EXPECT_DOUBLE_EQ(m.mean(1), 10);
}

TEST(RunningMomentsTest, StandardizesAConstantColumnToZero) {
  RunningMoments m(1, 100);
  const float v = 3;
  for (int i = 0; i < 10; ++i) m.Add(&v);
  float out = -1;
  m.Standardize(&v, &out);
  EXPECT_EQ(out, 0.f);
}

TEST(RunningMomentsTest, FollowsAShiftedStreamAfterTheHorizon) {
  RunningMoments m(1, 1000);
  std::mt19937_64 rng(1);
  std::normal_distribution<float> before(0, 1), after(5, 3);
  for (int i = 0; i < 1000; ++i) {
    const float v = before(rng);
    m.Add(&v);
  }
  EXPECT_NEAR(m.mean(0), 0, 0.15);
  for (int i = 0; i < 20000; ++i) {
    const float v = after(rng);
    m.Add(&v);
  }
  EXPECT_NEAR(m.mean(0), 5, 0.3);
  EXPECT_NEAR(m.stddev(0), 3, 0.3);
}

}  // namespace
}  // namespace mine
