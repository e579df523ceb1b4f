#include "server/core/sample_log.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "server/core/checkpoint_format.h"
#include "server/core/internal/byte_io.h"
#include "server/core/internal/file_util.h"

namespace mine {

SampleLog::SampleLog(std::string dir, FsyncPolicy policy, absl::Duration interval)
    : dir_(std::move(dir)), policy_(policy), interval_(interval) {}

absl::StatusOr<std::unique_ptr<SampleLog>> SampleLog::Open(std::string dir, int64_t first_index,
                                                           FsyncPolicy policy,
                                                           absl::Duration interval) {
  std::unique_ptr<SampleLog> log(new SampleLog(std::move(dir), policy, interval));
  if (absl::Status s = log->OpenSegment(first_index); !s.ok()) return s;
  return log;
}

SampleLog::~SampleLog() {
  if (fd_ >= 0) {
    if (dirty_) ::fdatasync(fd_);
    ::close(fd_);
  }
}

std::string SampleLog::SegmentName(int64_t first_index) {
  return absl::StrFormat("log-%020d.wal", first_index);
}

int64_t SampleLog::SegmentFirstIndex(absl::string_view name) {
  if (!absl::ConsumePrefix(&name, "log-") || !absl::ConsumeSuffix(&name, ".wal")) return -1;
  int64_t index;
  if (!absl::SimpleAtoi(name, &index) || index < 1) return -1;
  return index;
}

absl::Status SampleLog::Error(absl::string_view what, int error) const {
  return internal::FileError(absl::StrCat("sample log ", path_, ": ", what), error);
}

absl::Status SampleLog::OpenSegment(int64_t first_index) {
  const std::string path = absl::StrCat(dir_, "/", SegmentName(first_index));
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return internal::FileError(absl::StrCat("cannot create ", path), errno);
  if (absl::Status s = internal::SyncDirectory(dir_); !s.ok()) {
    ::close(fd);
    return s;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  path_ = path;
  first_index_ = first_index;
  size_ = 0;
  dirty_ = false;
  last_sync_ = absl::Now();
  return absl::OkStatus();
}

absl::Status SampleLog::Append(int64_t index, int64_t sequence, absl::Span<const float> x,
                               absl::Span<const float> z) {
  LogRecord record;
  record.index = index;
  record.sequence = sequence;
  record.x.assign(x.begin(), x.end());
  record.z.assign(z.begin(), z.end());
  const std::string framed = FrameLogRecord(EncodeRecord(record));
  if (int error = internal::WriteAll(fd_, framed); error != 0) {
    // Cut the partial record off so that the log holds only whole records.
    if (::ftruncate(fd_, size_) != 0 || ::lseek(fd_, size_, SEEK_SET) < 0) {
      ::close(fd_);
      fd_ = -1;
    }
    return Error("cannot append a batch", error);
  }
  size_ += static_cast<int64_t>(framed.size());
  dirty_ = true;
  if (policy_ == FsyncPolicy::kAlways || absl::Now() - last_sync_ >= interval_) return Sync();
  return absl::OkStatus();
}

absl::Status SampleLog::Sync() {
  if (fd_ < 0) return Error("is closed after an earlier write error", EIO);
  if (!dirty_) return absl::OkStatus();
  if (::fdatasync(fd_) != 0) return Error("fdatasync failed", errno);
  dirty_ = false;
  last_sync_ = absl::Now();
  return absl::OkStatus();
}

absl::Status SampleLog::Rotate(int64_t first_index) {
  if (fd_ >= 0 && first_index == first_index_ && size_ == 0) return absl::OkStatus();
  if (fd_ >= 0) {
    if (absl::Status s = Sync(); !s.ok()) return s;
  }
  return OpenSegment(first_index);
}

std::string SampleLog::EncodeRecord(const LogRecord& record) {
  internal::ByteWriter w;
  w.I64(record.index);
  w.I64(record.sequence);
  w.Floats(record.x.data(), static_cast<int64_t>(record.x.size()));
  w.Floats(record.z.data(), static_cast<int64_t>(record.z.size()));
  return std::move(w.bytes());
}

bool SampleLog::DecodeRecord(absl::string_view payload, LogRecord* record) {
  internal::ByteReader r(payload);
  return r.I64(&record->index) && r.I64(&record->sequence) && r.Floats(&record->x) &&
         r.Floats(&record->z) && r.done() && record->index > 0;
}

}  // namespace mine
