#include "client/cli/csv_reader.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace mine::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

ColumnSelection Cols(const std::string& spec) { return *ColumnSelection::Parse(spec); }

TEST(ColumnSelectionTest, ResolvesRangesIndicesAndNames) {
  EXPECT_THAT(*Cols("0-2,5").Resolve({}, 6), ElementsAre(0, 1, 2, 5));
  EXPECT_THAT(*Cols("b,a").Resolve({"a", "b"}, 2), ElementsAre(1, 0));
  EXPECT_STATUS_CODE(Cols("7").Resolve({}, 3), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS_CODE(Cols("q").Resolve({"a"}, 1), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS_CODE(ColumnSelection::Parse("3-1"), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS_CODE(ColumnSelection::Parse("1,,2"), absl::StatusCode::kInvalidArgument);
}

TEST(CsvReaderTest, SplitsHalvesByDefaultAndSkipsHeaderAndComments) {
  CsvReader reader(Cols(""), Cols(""));
  std::vector<float> x, z;
  EXPECT_FALSE(*reader.ParseLine("# true MI 1 nats", &x, &z));
  EXPECT_FALSE(*reader.ParseLine("x0,x1,z0,z1", &x, &z));
  EXPECT_TRUE(*reader.ParseLine("1,2,3,4", &x, &z));
  EXPECT_FALSE(*reader.ParseLine("", &x, &z));
  EXPECT_TRUE(*reader.ParseLine("5,6,7,8\r", &x, &z));
  EXPECT_THAT(x, ElementsAre(1, 2, 5, 6));
  EXPECT_THAT(z, ElementsAre(3, 4, 7, 8));
  EXPECT_EQ(reader.data_rows(), 2);
}

TEST(CsvReaderTest, SelectsTsvColumnsByName) {
  CsvReader reader(Cols("b"), Cols("c,a"));
  std::vector<float> x, z;
  EXPECT_FALSE(*reader.ParseLine("a\tb\tc", &x, &z));
  EXPECT_TRUE(*reader.ParseLine("1\t2\t3", &x, &z));
  EXPECT_THAT(x, ElementsAre(2));
  EXPECT_THAT(z, ElementsAre(3, 1));
}

TEST(CsvReaderTest, RejectsRaggedRowsWithTheLineNumber) {
  CsvReader reader(Cols(""), Cols(""));
  std::vector<float> x, z;
  ASSERT_OK(reader.ParseLine("1,2", &x, &z));
  absl::StatusOr<bool> row = reader.ParseLine("1,2,3", &x, &z);
  EXPECT_STATUS_CODE(row, absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(row.status().message()), HasSubstr("line 2: ragged row"));
}

TEST(CsvReaderTest, RejectsTextAndNonFiniteValuesWithoutAppending) {
  CsvReader reader(Cols("0"), Cols("1"));
  std::vector<float> x, z;
  ASSERT_OK(reader.ParseLine("a,b", &x, &z));
  absl::StatusOr<bool> row = reader.ParseLine("1,abc", &x, &z);
  EXPECT_THAT(std::string(row.status().message()), HasSubstr("line 2, column 1 ('b')"));
  row = reader.ParseLine("nan,1", &x, &z);
  EXPECT_THAT(std::string(row.status().message()), HasSubstr("line 3"));
  EXPECT_TRUE(x.empty());
  EXPECT_TRUE(z.empty());
}

TEST(CsvReaderTest, RejectsMissingColumnsOnTheFirstLine) {
  CsvReader reader(Cols("0"), Cols("4"));
  std::vector<float> x, z;
  absl::StatusOr<bool> row = reader.ParseLine("1,2", &x, &z);
  EXPECT_THAT(std::string(row.status().message()), HasSubstr("line 1: --z-cols: column 4"));
  CsvReader named(Cols("a"), Cols("nope"));
  row = named.ParseLine("a,b", &x, &z);
  EXPECT_THAT(std::string(row.status().message()), HasSubstr("no column named 'nope'"));
}

}  // namespace
}  // namespace mine::cli
