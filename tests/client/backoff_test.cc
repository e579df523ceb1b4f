#include "client/internal/backoff.h"

#include "gtest/gtest.h"

namespace mine::client_internal {
namespace {

TEST(BackoffTest, GrowsExponentiallyUpToTheCapWithinJitter) {
  Backoff backoff(absl::Milliseconds(100), absl::Milliseconds(500), 2.0, 0.2, 1);
  const double expected_ms[] = {100, 200, 400, 500, 500};
  for (double ms : expected_ms) {
    const double got = absl::ToDoubleMilliseconds(backoff.NextDelay());
    EXPECT_GE(got, 0.8 * ms);
    EXPECT_LE(got, 1.2 * ms);
  }
}

TEST(BackoffTest, NoJitterIsExact) {
  Backoff backoff(absl::Milliseconds(10), absl::Seconds(1), 3.0, 0.0, 1);
  EXPECT_EQ(backoff.NextDelay(), absl::Milliseconds(10));
  EXPECT_EQ(backoff.NextDelay(), absl::Milliseconds(30));
}

}  // namespace
}  // namespace mine::client_internal
