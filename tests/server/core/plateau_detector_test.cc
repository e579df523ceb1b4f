#include "server/core/plateau_detector.h"

#include "gtest/gtest.h"

namespace mine {
namespace {

TEST(PlateauDetectorTest, NeedsTwoSpansOfEvaluations) {
  PlateauDetector p(3);
  for (int i = 0; i < 5; ++i) p.Add(1.0);
  EXPECT_FALSE(p.Plateaued(0.1));
  p.Add(1.0);
  EXPECT_TRUE(p.Plateaued(0.1));
}

TEST(PlateauDetectorTest, RisingEstimatesAreNotAPlateau) {
  PlateauDetector p(3);
  for (int i = 0; i < 6; ++i) p.Add(0.1 * i);
  EXPECT_FALSE(p.Plateaued(0.4));  // gain 0.3 > max(0.4 / 4, 0.01)
  EXPECT_TRUE(p.Plateaued(2.0));   // within a quarter of the standard error
}

TEST(PlateauDetectorTest, SmoothsOverTheLastSpan) {
  PlateauDetector p(2);
  p.Add(10);
  EXPECT_DOUBLE_EQ(p.Smoothed(), 10);
  p.Add(2);
  p.Add(4);
  EXPECT_DOUBLE_EQ(p.Smoothed(), 3);
}

TEST(PlateauDetectorTest, ReopenRequiresFreshEvaluations) {
  PlateauDetector p(2);
  for (int i = 0; i < 4; ++i) p.Add(1.0);
  ASSERT_TRUE(p.Plateaued(0.1));
  p.Reopen();
  EXPECT_FALSE(p.Plateaued(0.1));
  for (int i = 0; i < 4; ++i) p.Add(1.0);
  EXPECT_TRUE(p.Plateaued(0.1));
  p.Clear();
  EXPECT_TRUE(p.empty());
}

}  // namespace
}  // namespace mine
