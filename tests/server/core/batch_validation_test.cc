#include "server/core/batch_validation.h"

#include <cmath>
#include <limits>
#include <vector>

#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace mine {
namespace {

void ExpectInvalid(const absl::StatusOr<int64_t>& rows, const std::string& needle) {
  EXPECT_STATUS_CODE(rows, absl::StatusCode::kInvalidArgument);
  EXPECT_NE(rows.status().message().find(needle), std::string::npos) << rows.status();
}

TEST(BatchValidationTest, CountsRowsOfAWellFormedBatch) {
  std::vector<float> x = {1, 2, 3, 4, 5, 6};  // 3 rows of 2
  std::vector<float> z = {1, 2, 3};           // 3 rows of 1
  absl::StatusOr<int64_t> rows = ValidateBatch(2, 1, x, z, 100);
  ASSERT_OK(rows);
  EXPECT_EQ(*rows, 3);
}

TEST(BatchValidationTest, RejectsAnEmptyBatch) {
  ExpectInvalid(ValidateBatch(2, 1, {}, {}, 100), "no rows");
}

TEST(BatchValidationTest, RejectsAnIncompleteRowNamingIt) {
  std::vector<float> x = {1, 2, 3};
  std::vector<float> z = {1, 2};
  ExpectInvalid(ValidateBatch(2, 1, x, z, 100), "row 1 is incomplete");
}

TEST(BatchValidationTest, RejectsRowCountsThatDisagree) {
  std::vector<float> x = {1, 2, 3, 4};
  std::vector<float> z = {1, 2, 3};
  ExpectInvalid(ValidateBatch(2, 1, x, z, 100), "x has 2 rows");
}

TEST(BatchValidationTest, RejectsNanAndInfNamingFieldRowAndColumn) {
  std::vector<float> x = {1, 2, 3, std::nanf("")};
  std::vector<float> z = {1, 2};
  ExpectInvalid(ValidateBatch(2, 1, x, z, 100), "x row 1 column 1 is NaN");
  std::vector<float> ok_x = {1, 2, 3, 4};
  std::vector<float> inf_z = {1, std::numeric_limits<float>::infinity()};
  ExpectInvalid(ValidateBatch(2, 1, ok_x, inf_z, 100), "z row 1 column 0 is infinite");
}

TEST(BatchValidationTest, RejectsMoreRowsThanTheLimit) {
  std::vector<float> x(11), z(11);
  ExpectInvalid(ValidateBatch(1, 1, x, z, 10), "more than the limit of 10");
}

}  // namespace
}  // namespace mine
