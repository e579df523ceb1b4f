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

inline ::testing::AssertionResult StatusCodeIs(const char* expr, const char*,
                                               const absl::Status& status,
                                               absl::StatusCode expected) {
  if (status.code() == expected) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << expr << " is " << status << ", expected code "
         << absl::StatusCodeToString(expected);
}

}  // namespace mine::testing_internal

// Each evaluates `expr` once and accepts a streamed message.
#define ASSERT_OK(expr)                                                      \
  ASSERT_PRED_FORMAT2(::mine::testing_internal::StatusCodeIs,                \
                      ::mine::testing_internal::StatusOf(expr), ::absl::StatusCode::kOk)
#define EXPECT_OK(expr)                                                      \
  EXPECT_PRED_FORMAT2(::mine::testing_internal::StatusCodeIs,                \
                      ::mine::testing_internal::StatusOf(expr), ::absl::StatusCode::kOk)
#define EXPECT_STATUS_CODE(expr, code)                                       \
  EXPECT_PRED_FORMAT2(::mine::testing_internal::StatusCodeIs,                \
                      ::mine::testing_internal::StatusOf(expr), code)

#endif  // TESTS_SUPPORT_STATUS_MATCHERS_H_
