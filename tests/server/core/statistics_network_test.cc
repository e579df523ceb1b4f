#include "server/core/statistics_network.h"

#include "gtest/gtest.h"

namespace mine {
namespace {

TEST(StatisticsNetworkTest, SameSeedGivesSameWeights) {
  StatisticsNetwork a(3, 2, {8, 4}, Activation::kRelu, 7);
  StatisticsNetwork b(3, 2, {8, 4}, Activation::kRelu, 7);
  StatisticsNetwork c(3, 2, {8, 4}, Activation::kRelu, 8);
  ASSERT_EQ(a.parameters().size(), b.parameters().size());
  for (size_t i = 0; i < a.parameters().size(); ++i) {
    EXPECT_TRUE(torch::equal(a.parameters()[i], b.parameters()[i]));
  }
  EXPECT_FALSE(torch::equal(a.parameters()[0], c.parameters()[0]));
}

TEST(StatisticsNetworkTest, ScoreMatrixDiagonalEqualsPairedForward) {
  for (Activation act : {Activation::kRelu, Activation::kElu, Activation::kTanh}) {
    StatisticsNetwork net(3, 2, {16, 8}, act, 1);
    torch::Tensor x = torch::randn({5, 3});
    torch::Tensor z = torch::randn({5, 2});
    torch::Tensor paired = net.Forward(x, z);
    torch::Tensor matrix = net.ScoreMatrix(x, z);
    ASSERT_EQ(paired.sizes(), torch::IntArrayRef({5}));
    ASSERT_EQ(matrix.sizes(), torch::IntArrayRef({5, 5}));
    EXPECT_TRUE(torch::allclose(matrix.diagonal(), paired, 1e-5, 1e-6));
    // Off-diagonal (i, j) is T(x_i, z_j).
    torch::Tensor t01 = net.Forward(x.slice(0, 0, 1), z.slice(0, 1, 2));
    EXPECT_NEAR(matrix[0][1].item<float>(), t01[0].item<float>(), 1e-5);
  }
}

TEST(StatisticsNetworkTest, SingleHiddenLayerWorks) {
  StatisticsNetwork net(1, 1, {4}, Activation::kElu, 3);
  EXPECT_EQ(net.parameters().size(), 5u);  // w_x, w_z, b_1, w_out, b_out
  EXPECT_EQ(net.Forward(torch::ones({2, 1}), torch::ones({2, 1})).numel(), 2);
}

}  // namespace
}  // namespace mine
