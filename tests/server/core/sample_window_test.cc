#include "server/core/sample_window.h"

#include "gtest/gtest.h"

namespace mine {
namespace {

TEST(SampleWindowTest, KeepsRowsInArrivalOrderUntilFull) {
  SampleWindow w(1, 2, 3);
  for (float v : {1.f, 2.f}) {
    float z[2] = {v * 10, v * 100};
    w.Append(&v, z);
  }
  ASSERT_EQ(w.size(), 2);
  EXPECT_EQ(*w.x_row(0), 1.f);
  EXPECT_EQ(w.z_row(1)[1], 200.f);
}

TEST(SampleWindowTest, EvictsTheOldestRowWhenFull) {
  SampleWindow w(1, 1, 3);
  for (float v = 1; v <= 5; ++v) w.Append(&v, &v);
  ASSERT_EQ(w.size(), 3);
  EXPECT_EQ(*w.x_row(0), 3.f);
  EXPECT_EQ(*w.x_row(1), 4.f);
  EXPECT_EQ(*w.z_row(2), 5.f);
}

TEST(SampleWindowTest, ClearForgetsEverything) {
  SampleWindow w(1, 1, 2);
  float v = 1;
  w.Append(&v, &v);
  w.Clear();
  EXPECT_EQ(w.size(), 0);
  v = 7;
  w.Append(&v, &v);
  EXPECT_EQ(*w.x_row(0), 7.f);
}

}  // namespace
}  // namespace mine
