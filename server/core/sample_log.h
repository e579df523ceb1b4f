#ifndef SERVER_CORE_SAMPLE_LOG_H_
#define SERVER_CORE_SAMPLE_LOG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "server/core/session.h"

namespace mine {

// When an appended record is forced to disk (fdatasync).
enum class FsyncPolicy {
  kAlways,    // before every acknowledgement: nothing acknowledged is ever lost
  kInterval,  // at most every `interval`, and at rotation and Sync(): a crash
              // of the machine (not of the process) may lose the batches
              // acknowledged in the last interval
};

// One batch as it was accepted.
struct LogRecord {
  int64_t index = 0;     // 1, 2, ... in acceptance order
  int64_t sequence = 0;  // the client's, 0 for none
  std::vector<float> x;
  std::vector<float> z;
};

// The write-ahead log of one session: segment files `log-<first index>.wal`
// in the session's directory, each a sequence of CRC-framed records
// (checkpoint_format.h). The write() of a record completes before Append
// returns, so a killed process loses nothing it acknowledged; the fsync
// policy decides what a crash of the machine may lose. A failed write is
// cut off again, so the file never keeps a partial record it acknowledged.
// Not thread-safe: the owning Session serialises calls.
class SampleLog : public IngestLog {
 public:
  static absl::StatusOr<std::unique_ptr<SampleLog>> Open(std::string dir, int64_t first_index,
                                                         FsyncPolicy policy,
                                                         absl::Duration interval);
  ~SampleLog() override;
  SampleLog(const SampleLog&) = delete;
  SampleLog& operator=(const SampleLog&) = delete;

  absl::Status Append(int64_t index, int64_t sequence, absl::Span<const float> x,
                      absl::Span<const float> z) override;
  absl::Status Rotate(int64_t first_index) override;
  absl::Status Sync() override;

  static std::string SegmentName(int64_t first_index);
  // The first index encoded in a segment file name; -1 for other names.
  static int64_t SegmentFirstIndex(absl::string_view name);
  static std::string EncodeRecord(const LogRecord& record);
  static bool DecodeRecord(absl::string_view payload, LogRecord* record);

 private:
  SampleLog(std::string dir, FsyncPolicy policy, absl::Duration interval);
  absl::Status OpenSegment(int64_t first_index);
  absl::Status Error(absl::string_view what, int error) const;

  const std::string dir_;
  const FsyncPolicy policy_;
  const absl::Duration interval_;
  int fd_ = -1;
  std::string path_;
  int64_t first_index_ = 0;
  int64_t size_ = 0;
  bool dirty_ = false;  // written since the last fdatasync
  absl::Time last_sync_ = absl::InfinitePast();
};

}  // namespace mine

#endif  // SERVER_CORE_SAMPLE_LOG_H_
