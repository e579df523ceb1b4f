#include "server/core/session_store.h"

#include <errno.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "server/core/checkpoint_format.h"
#include "server/core/internal/byte_io.h"
#include "server/core/internal/file_util.h"
#include "server/core/session_manager.h"

namespace mine {
namespace {

namespace fs = std::filesystem;

constexpr char kCheckpointName[] = "checkpoint";

absl::Status MakeDirectory(const std::string& path) {
  std::error_code error;
  fs::create_directories(path, error);
  if (error) {
    return internal::FileError(absl::StrCat("cannot create directory ", path), error.value());
  }
  return absl::OkStatus();
}

}  // namespace

SessionStore::SessionStore(std::string dir, FsyncPolicy policy, absl::Duration fsync_interval)
    : dir_(std::move(dir)), policy_(policy), fsync_interval_(fsync_interval) {}

absl::StatusOr<std::unique_ptr<SessionStore>> SessionStore::Open(std::string dir,
                                                                 FsyncPolicy policy,
                                                                 absl::Duration fsync_interval) {
  if (dir.empty()) return absl::InvalidArgumentError("the state directory is empty");
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  for (const char* sub : {"/sessions", "/quarantine"}) {
    if (absl::Status s = MakeDirectory(dir + sub); !s.ok()) return s;
  }
  return std::unique_ptr<SessionStore>(new SessionStore(std::move(dir), policy, fsync_interval));
}

std::string SessionStore::SessionDir(absl::string_view id) const {
  return absl::StrCat(dir_, "/sessions/", id);
}

absl::Status SessionStore::CreateSession(absl::string_view id) {
  const std::string dir = SessionDir(id);
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return internal::FileError(absl::StrCat("cannot create ", dir), errno);
  }
  return internal::SyncDirectory(absl::StrCat(dir_, "/sessions"));
}

absl::Status SessionStore::SaveCheckpoint(absl::string_view id, const SessionSnapshot& snapshot) {
  internal::ByteWriter w;
  w.I64(snapshot.batches_covered);
  w.bytes().append(snapshot.payload);
  const std::string dir = SessionDir(id);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("session directory ", dir, " is gone"));
  }
  if (absl::Status s = internal::WriteFileAtomically(absl::StrCat(dir, "/", kCheckpointName),
                                                     FrameCheckpoint(w.bytes()));
      !s.ok()) {
    return s;
  }
  // Segments wholly before the new one hold only covered batches.
  for (const auto& [first, path] : Segments(id)) {
    if (first <= snapshot.batches_covered) ::unlink(path.c_str());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<SampleLog>> SessionStore::OpenLog(absl::string_view id,
                                                                 int64_t first_index) {
  return SampleLog::Open(SessionDir(id), first_index, policy_, fsync_interval_);
}

std::vector<std::string> SessionStore::SessionIds() const {
  std::vector<std::string> ids;
  std::error_code error;
  for (const fs::directory_entry& entry :
       fs::directory_iterator(absl::StrCat(dir_, "/sessions"), error)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory(error) && ValidateSessionId(name).ok()) ids.push_back(name);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<std::pair<int64_t, std::string>> SessionStore::Segments(absl::string_view id) const {
  std::vector<std::pair<int64_t, std::string>> segments;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(SessionDir(id), error)) {
    const int64_t first = SampleLog::SegmentFirstIndex(entry.path().filename().string());
    if (first > 0) segments.emplace_back(first, entry.path().string());
  }
  std::sort(segments.begin(), segments.end());
  return segments;
}

void SessionStore::Quarantine(absl::string_view id, const std::string& path,
                              absl::string_view reason) {
  const std::string target =
      absl::StrCat(dir_, "/quarantine/", id, ".", fs::path(path).filename().string(), ".",
                   absl::ToUnixMillis(absl::Now()));
  std::error_code error;
  fs::rename(path, target, error);
  std::fprintf(stderr, "state: session '%s': %s; moved %s to %s%s\n", std::string(id).c_str(),
               std::string(reason).c_str(), path.c_str(), target.c_str(),
               error ? (" (move failed: " + error.message() + ")").c_str() : "");
}

absl::StatusOr<StoredSession> SessionStore::ReadCheckpoint(absl::string_view id) const {
  StoredSession stored;
  absl::StatusOr<std::string> file =
      internal::ReadFile(absl::StrCat(SessionDir(id), "/", kCheckpointName));
  if (!file.ok()) {
    return absl::DataLossError(
        absl::StrCat("no readable checkpoint (", file.status().message(), ")"));
  }
  absl::StatusOr<std::string> payload = UnframeCheckpoint(*file);
  if (!payload.ok()) return payload.status();
  internal::ByteReader r(*payload);
  if (!r.I64(&stored.batches_covered) || stored.batches_covered < 0) {
    return absl::DataLossError("checkpoint has no batch count");
  }
  stored.checkpoint = payload->substr(sizeof(int64_t));
  return stored;
}

bool SessionStore::HasCheckpoint(absl::string_view id) const {
  struct stat st;
  return ::stat(absl::StrCat(SessionDir(id), "/", kCheckpointName).c_str(), &st) == 0;
}

absl::Time SessionStore::LastWritten(absl::string_view id) const {
  absl::Time last = absl::InfinitePast();
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(SessionDir(id), error)) {
    struct stat st;
    if (::stat(entry.path().c_str(), &st) == 0) {
      last = std::max(last, absl::TimeFromTimespec(st.st_mtim));
    }
  }
  return last;
}

absl::StatusOr<StoredSession> SessionStore::Load(absl::string_view id) {
  const std::string dir = SessionDir(id);
  absl::StatusOr<StoredSession> read = ReadCheckpoint(id);
  if (!read.ok()) {
    // Without a checkpoint there is no config: the session cannot come back.
    Quarantine(id, dir, absl::StrCat("cannot be restored: ", read.status().message()));
    return read.status();
  }
  StoredSession stored = *std::move(read);

  int64_t next = stored.batches_covered + 1;
  bool broken = false;
  for (const auto& [first, path] : Segments(id)) {
    if (broken || first > next) {
      Quarantine(id, path, broken ? "log segment after a damaged one"
                                  : absl::StrCat("log segment starts at batch ", first,
                                                 ", batch ", next, " is missing"));
      broken = true;
      continue;
    }
    absl::StatusOr<std::string> bytes = internal::ReadFile(path);
    if (!bytes.ok()) {
      Quarantine(id, path, bytes.status().message());
      broken = true;
      continue;
    }
    LogScan scan = ScanLogRecords(*bytes);
    int64_t valid_bytes = 0;
    std::string error = scan.error;
    for (size_t i = 0; i < scan.payloads.size(); ++i) {
      LogRecord record;
      if (!SampleLog::DecodeRecord(scan.payloads[i], &record) ||
          (record.index > stored.batches_covered && record.index != next)) {
        error = absl::StrCat("record ", i, " is not batch ", next);
        break;
      }
      valid_bytes += static_cast<int64_t>(FrameLogRecord(scan.payloads[i]).size());
      if (record.index == next) {
        stored.records.push_back(std::move(record));
        ++next;
      }
    }
    if (!error.empty()) {
      // Keep a copy of the whole segment for inspection and the valid
      // prefix in place, so the next checkpoint starts from a clean log.
      std::error_code copy_error;
      const std::string copy = path + ".damaged";
      fs::copy_file(path, copy, fs::copy_options::overwrite_existing, copy_error);
      Quarantine(id, copy,
                 absl::StrCat("log ", path, ": ", error, "; kept the first ", valid_bytes,
                              " bytes (", scan.payloads.size(), " records scanned)"));
      ::truncate(path.c_str(), valid_bytes);
      broken = true;  // later segments cannot follow a gap
    }
  }
  return stored;
}

absl::Status SessionStore::Remove(absl::string_view id) {
  std::error_code error;
  fs::remove_all(SessionDir(id), error);
  if (error) {
    return internal::FileError(absl::StrCat("cannot remove ", SessionDir(id)), error.value());
  }
  return absl::OkStatus();
}

}  // namespace mine
