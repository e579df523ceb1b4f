#ifndef SERVER_CORE_CHECKPOINT_FORMAT_H_
#define SERVER_CORE_CHECKPOINT_FORMAT_H_

// The on-disk framing of session state: a checkpoint file is one framed
// payload; a sample log is a sequence of framed records.
//
//   checkpoint: "MINECKPT" | u32 format version | u64 payload bytes | u32 CRC-32 | payload
//   log record: u32 0x4D4C4F47 ("GOLM") | u64 payload bytes | u32 CRC-32 | payload
//
// Integers are in host byte order: state is read back by the build that
// wrote it, on the same machine. A reader never trusts a length without
// checking it against the bytes that are there.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mine {

inline constexpr uint32_t kCheckpointFormatVersion = 1;

uint32_t Crc32(absl::string_view data);

std::string FrameCheckpoint(absl::string_view payload);
// The payload, or DataLoss naming what is wrong (bad magic, unknown version,
// truncated, checksum mismatch).
absl::StatusOr<std::string> UnframeCheckpoint(absl::string_view file);

std::string FrameLogRecord(absl::string_view payload);
struct LogScan {
  std::vector<std::string> payloads;  // the valid records, in order
  int64_t valid_bytes = 0;            // length of the valid prefix
  std::string error;                  // empty when the whole input was valid
};
// Reads records until the end or the first bad one (truncated, bad magic,
// checksum mismatch); everything after a bad record is discarded.
LogScan ScanLogRecords(absl::string_view file);

}  // namespace mine

#endif  // SERVER_CORE_CHECKPOINT_FORMAT_H_
