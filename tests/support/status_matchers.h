#ifndef TESTS_SUPPORT_STATUS_MATCHERS_H_
#define TESTS_SUPPORT_STATUS_MATCHERS_H_

// Abseil 20220623 ships no status matchers; these are the few tests need.
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace mine::testing_internal {
inline const absl::Status& StatusOf(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& s) { return s.status(); }
}  // namespace mine::testing_internal

#define MINE_STATUS_CHECK_(assertion, expr, expected)                     \
  do {                                                                     \
    const ::absl::Status mine_status_ = ::mine::testing_internal::StatusOf(expr); \
    assertion(mine_status_.code(), (expected)) << mine_status_;            \
  } while (0)

#define ASSERT_OK(expr) MINE_STATUS_CHECK_(ASSERT_EQ, expr, ::absl::StatusCode::kOk)
#define EXPECT_OK(expr) MINE_STATUS_CHECK_(EXPECT_EQ, expr, ::absl::StatusCode::kOk)
#define EXPECT_STATUS_CODE(expr, code) MINE_STATUS_CHECK_(EXPECT_EQ, expr, code)

#endif  // TESTS_SUPPORT_STATUS_MATCHERS_H_
