#ifndef SERVER_CORE_SESSION_STORE_H_
#define SERVER_CORE_SESSION_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/core/sample_log.h"
#include "server/core/session.h"

namespace mine {

// What a stored session holds: its last checkpoint and the log records
// written after it, in order.
struct StoredSession {
  std::string checkpoint;          // Session::Snapshot payload
  int64_t batches_covered = 0;     // by the checkpoint
  std::vector<LogRecord> records;  // consecutive indices, all after the checkpoint's
};

// The state directory (--state_dir):
//
//   <dir>/sessions/<id>/checkpoint       framed Session::Snapshot (checkpoint_format.h)
//   <dir>/sessions/<id>/log-<N>.wal      sample log segment whose first record is batch N
//   <dir>/sessions/<id>/lease, lease.lock  with several replicas (LeaseStore)
//   <dir>/sessions/<id>/tenant           the owning tenant (service layer)
//   <dir>/quarantine/<id>.<file>.<time>  files that could not be read, kept for inspection
//
// A checkpoint is written atomically; afterwards the log segments it covers
// are removed. Loading never fails on bad files: it keeps the valid prefix,
// moves what it cannot use to quarantine/ and says so on stderr.
// Thread-safe for different session ids; callers serialise calls per id.
//
//   auto store = SessionStore::Open("./mine-state", FsyncPolicy::kAlways, absl::Milliseconds(100));
//   (*store)->SaveCheckpoint("s1", snapshot);
//   absl::StatusOr<StoredSession> s = (*store)->Load("s1");
class SessionStore {
 public:
  static absl::StatusOr<std::unique_ptr<SessionStore>> Open(std::string dir, FsyncPolicy policy,
                                                            absl::Duration fsync_interval);
  SessionStore(const SessionStore&) = delete;
  SessionStore& operator=(const SessionStore&) = delete;

  const std::string& dir() const { return dir_; }

  // Creates the session's directory (failing when it cannot).
  absl::Status CreateSession(absl::string_view id);
  // Writes the checkpoint atomically, then removes the segments it covers.
  // REQUIRES: CreateSession(id) succeeded (a deleted session is not re-created).
  absl::Status SaveCheckpoint(absl::string_view id, const SessionSnapshot& snapshot);
  // A log whose first record will be batch `first_index`.
  absl::StatusOr<std::unique_ptr<SampleLog>> OpenLog(absl::string_view id, int64_t first_index);
  // The sessions on disk, in id order.
  std::vector<std::string> SessionIds() const;
  // NotFound/DataLoss when no usable checkpoint exists (the session's files
  // are then quarantined); otherwise the checkpoint and the valid records.
  absl::StatusOr<StoredSession> Load(absl::string_view id);
  // The checkpoint alone, read without changing anything (no quarantine):
  // what a replica may look at while another one owns the session.
  absl::StatusOr<StoredSession> ReadCheckpoint(absl::string_view id) const;
  bool HasCheckpoint(absl::string_view id) const;
  // The newest modification time of the session's files (its lease file is
  // rewritten at every renewal): when a replica last used it.
  absl::Time LastWritten(absl::string_view id) const;
  // Removes every file of the session.
  absl::Status Remove(absl::string_view id);

  // Moves `path` to quarantine/ and writes `reason` to stderr.
  void Quarantine(absl::string_view id, const std::string& path, absl::string_view reason);

 private:
  SessionStore(std::string dir, FsyncPolicy policy, absl::Duration fsync_interval);
  std::string SessionDir(absl::string_view id) const;
  // Segment files of a session: (first index, path), ascending.
  std::vector<std::pair<int64_t, std::string>> Segments(absl::string_view id) const;

  const std::string dir_;
  const FsyncPolicy policy_;
  const absl::Duration fsync_interval_;
};

}  // namespace mine

#endif  // SERVER_CORE_SESSION_STORE_H_
