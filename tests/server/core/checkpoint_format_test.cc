#include "server/core/checkpoint_format.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace mine {
namespace {

TEST(CheckpointFormatTest, Crc32MatchesTheStandardCheckValue) {
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
}

TEST(CheckpointFormatTest, CheckpointRoundTrips) {
  const std::string payload("state\0with\0zeros", 16);
  absl::StatusOr<std::string> back = UnframeCheckpoint(FrameCheckpoint(payload));
  ASSERT_OK(back);
  EXPECT_EQ(*back, payload);
}

TEST(CheckpointFormatTest, RejectsTruncatedCorruptAndForeignCheckpoints) {
  const std::string file = FrameCheckpoint("some session state");
  EXPECT_STATUS_CODE(UnframeCheckpoint(file.substr(0, file.size() - 1)),
                     absl::StatusCode::kDataLoss);
  EXPECT_STATUS_CODE(UnframeCheckpoint(file.substr(0, 10)), absl::StatusCode::kDataLoss);
  std::string flipped = file;
  flipped.back() ^= 0x01;
  EXPECT_STATUS_CODE(UnframeCheckpoint(flipped), absl::StatusCode::kDataLoss);
  EXPECT_STATUS_CODE(UnframeCheckpoint("not a checkpoint at all"), absl::StatusCode::kDataLoss);
  EXPECT_STATUS_CODE(UnframeCheckpoint(""), absl::StatusCode::kDataLoss);
  std::string future = file;
  future[8] = 99;  // format version
  EXPECT_STATUS_CODE(UnframeCheckpoint(future), absl::StatusCode::kDataLoss);
}

TEST(CheckpointFormatTest, LogScanKeepsTheValidPrefix) {
  const std::string log = FrameLogRecord("one") + FrameLogRecord("two") + FrameLogRecord("three");
  LogScan whole = ScanLogRecords(log);
  EXPECT_EQ(whole.error, "");
  ASSERT_EQ(whole.payloads.size(), 3u);
  EXPECT_EQ(whole.payloads[2], "three");
  EXPECT_EQ(whole.valid_bytes, static_cast<int64_t>(log.size()));

  for (size_t cut = 0; cut < log.size(); ++cut) {
    LogScan partial = ScanLogRecords(log.substr(0, cut));
    EXPECT_LE(partial.payloads.size(), 3u);
    EXPECT_LE(partial.valid_bytes, static_cast<int64_t>(cut));
  }
  const size_t two = FrameLogRecord("one").size() + FrameLogRecord("two").size();
  LogScan torn = ScanLogRecords(log.substr(0, two + 5));
  EXPECT_EQ(torn.payloads.size(), 2u);
  EXPECT_EQ(torn.valid_bytes, static_cast<int64_t>(two));
  EXPECT_NE(torn.error, "");

  std::string corrupt = log;
  corrupt[FrameLogRecord("one").size() + 17] ^= 0x40;  // inside "two"
  LogScan bad = ScanLogRecords(corrupt);
  EXPECT_EQ(bad.payloads.size(), 1u);
  EXPECT_NE(bad.error.find("checksum"), std::string::npos);
}

TEST(CheckpointFormatTest, LogScanSurvivesAHugeLengthField) {
  std::string log = FrameLogRecord("x");
  for (int i = 4; i < 12; ++i) log[i] = static_cast<char>(0xFF);
  LogScan scan = ScanLogRecords(log);
  EXPECT_TRUE(scan.payloads.empty());
  EXPECT_NE(scan.error, "");
}

}  // namespace
}  // namespace mine
