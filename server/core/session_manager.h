#ifndef SERVER_CORE_SESSION_MANAGER_H_
#define SERVER_CORE_SESSION_MANAGER_H_

#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "server/core/lease_keeper.h"
#include "server/core/sample_log.h"
#include "server/core/session.h"
#include "server/core/session_config.h"
#include "server/core/worker_pool.h"

namespace mine {

class SessionStore;

// Where and how sessions outlive the process (README "Durability").
struct PersistenceOptions {
  std::string state_dir;  // empty: sessions live in memory only
  FsyncPolicy fsync = FsyncPolicy::kAlways;
  absl::Duration fsync_interval = absl::Milliseconds(100);  // for FsyncPolicy::kInterval
  absl::Duration checkpoint_interval = absl::Seconds(30);   // zero: only at shutdown
  // A session nobody holds (no stream, watcher or training) and unused for
  // this long is checkpointed and leaves memory; the next call that names it
  // loads it back. Zero: never.
  absl::Duration idle_evict = absl::ZeroDuration();

  // Several replicas share state_dir (README "Scale-out and failover").
  // Nothing is restored at start: a session loads from its checkpoint and
  // log on first use, under a lease in the state dir (LeaseStore), so one
  // replica at a time trains it; a replica another one asks for a session
  // hands it over (checkpoint, release) within about lease_ttl / 3.
  bool shared = false;
  std::string replica_id;                          // required when shared
  absl::Duration lease_ttl = absl::Seconds(10);
  LeaseClock clock;                                // null: absl::Now (tests step their own)
};

struct SessionManagerOptions {
  int workers = 0;          // 0: the CPUs this process may use
  int max_sessions = 10000;
  // Budget for the sum over sessions in memory of window_size * (x_dim +
  // z_dim) plus the ingest queue bound: what they may come to hold (4 bytes a
  // value). CreateSession beyond it: RESOURCE_EXHAUSTED; evicted sessions do
  // not count until they are loaded back.
  int64_t max_total_values = int64_t{1} << 31;  // 8 GiB
  SessionOptions session;
  ConfigLimits limits;
  PersistenceOptions persistence;
};

// The registry of live sessions and the worker pool that trains them: what
// the service layer calls. Thread-safe.
//
//   SessionManager manager(SessionManagerOptions{});
//   auto session = manager.Create("", config);  // id generated
//   (*session)->Ingest(x, z);
class SessionManager {
 public:
  static constexpr int kDefaultPageSize = 100;
  static constexpr int kMaxPageSize = 1000;

  struct Page {
    std::vector<std::shared_ptr<Session>> sessions;
    std::string next_page_token;  // empty on the last page
  };

  explicit SessionManager(const SessionManagerOptions& options);
  // Stops checkpointing, checkpoints every session (with a state dir),
  // closes every session, then stops the workers.
  ~SessionManager();
  SessionManager(const SessionManager&) = delete;
  SessionManager& operator=(const SessionManager&) = delete;

  // Creates a session, or returns the existing one when `id` exists with the
  // same effective config (ALREADY_EXISTS when it differs). An empty `id` is
  // replaced by a generated one. RESOURCE_EXHAUSTED past max_sessions.
  absl::StatusOr<std::shared_ptr<Session>> Create(absl::string_view id,
                                                  const SessionConfig& config);
  // Loads an evicted session back (see PersistenceOptions::idle_evict). On a
  // shared state dir, loads a session no replica holds under this replica's
  // lease; UNAVAILABLE (retryable) while another replica holds it.
  absl::StatusOr<std::shared_ptr<Session>> Get(absl::string_view id);
  // Sessions in id order, starting after `page_token` (the last id of the
  // previous page). page_size 0 means kDefaultPageSize. Evicted sessions on
  // the page are loaded back unless `loaded_only`. On a shared state dir
  // nothing is loaded: a session this replica does not hold is read from its
  // checkpoint, as of that checkpoint (a copy that never trains).
  absl::StatusOr<Page> List(int page_size, absl::string_view page_token,
                            bool loaded_only = false);
  // Evicted sessions and when each was last used (for the TTL reaper). On a
  // shared state dir: the stored sessions no replica holds, each with the
  // last time any replica wrote its files.
  std::vector<std::pair<std::string, absl::Time>> EvictedSessions() const;
  // Checkpoints and unloads the sessions idle for at least `idle` that no one
  // else holds; returns how many left memory.
  int EvictIdle(absl::Duration idle);
  // Closes the session (watchers see it end) and forgets it. On a shared
  // state dir it takes the lease first (UNAVAILABLE while another holds it).
  absl::Status Delete(absl::string_view id);

  // Called by RestoreState with (0, total) before the first session and
  // (done, total) after each one, restored or not; on the restoring thread,
  // which waits for it (mine-server logs progress; tests hold it here).
  using RestoreProgress = std::function<void(int done, int total)>;
  // With a state dir: opens it, restores every stored session (checkpoint
  // plus the log records after it; bad files are quarantined, never fatal)
  // and starts the background checkpoints. Call once, before serving.
  // An error only when the directory cannot be used at all.
  absl::Status RestoreState(const RestoreProgress& progress = nullptr);
  // Checkpoints every session that changed since its last checkpoint; the
  // first error is returned after trying them all. OK without a state dir.
  absl::Status CheckpointAll();
  // Stops the background checkpoints (idempotent; the destructor calls it).
  void StopCheckpointing();
  bool persistent() const { return store_ != nullptr; }
  bool shared() const { return leases_ != nullptr; }
  // The leases of a shared state dir; null otherwise. For tests and metrics.
  LeaseKeeper* leases() { return leases_.get(); }

  int session_count() const;  // sessions in memory
  const SessionManagerOptions& options() const { return options_; }
  WorkerPool& pool() { return pool_; }

 private:
  std::string GenerateId() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t ReservedValues(const SessionConfig& config) const;
  // Writes the first checkpoint and attaches the log of a new session.
  absl::Status Persist(const std::shared_ptr<Session>& session);
  absl::Status Checkpoint(const std::shared_ptr<Session>& session, bool force);
  absl::Status RestoreSession(const std::string& id);
  absl::StatusOr<std::shared_ptr<Session>> Reload(absl::string_view id);
  // Removes a session from memory; returns it (null when it was not there).
  std::shared_ptr<Session> Unload(absl::string_view id);

  // Shared state dir (session_manager_shared.cc).
  absl::Status OpenShared();
  absl::StatusOr<std::shared_ptr<Session>> Adopt(absl::string_view id);
  absl::StatusOr<std::shared_ptr<LeaseGuard>> TakeNewSession(absl::string_view id);
  std::unique_ptr<IngestLog> Guarded(std::unique_ptr<IngestLog> log, absl::string_view id);
  // OK unless the state dir is shared and this replica may not write the
  // session's files (no lease, or past its local deadline).
  absl::Status MayWrite(absl::string_view id) const;
  void HandOff(const std::string& id, const std::string& to);
  void DropLost(const std::string& id, const std::string& owner);
  absl::StatusOr<Page> ListShared(int size, absl::string_view page_token);
  absl::Status DeleteShared(absl::string_view id);
  std::vector<std::pair<std::string, absl::Time>> UnheldSessions() const;
  bool IsEvicted(absl::string_view id) const;
  TrainingObserver* observer() const { return options_.session.observer; }
  void CheckpointLoop();

  const SessionManagerOptions options_;
  WorkerPool pool_;
  // Serialises loading evicted sessions back with evicting them.
  absl::Mutex reload_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<Session>, std::less<>> sessions_ ABSL_GUARDED_BY(mu_);
  std::mt19937_64 id_rng_ ABSL_GUARDED_BY(mu_);
  int64_t reserved_values_ ABSL_GUARDED_BY(mu_) = 0;
  // On disk, not in memory: id -> last used.
  std::map<std::string, absl::Time, std::less<>> evicted_ ABSL_GUARDED_BY(mu_);

  // Set by RestoreState, then read-only. Checkpoint writes and removals of a
  // session's files are serialised by persist_mu_.
  std::unique_ptr<SessionStore> store_;
  std::unique_ptr<LeaseKeeper> leases_;  // shared state dir only
  absl::Mutex persist_mu_ ABSL_ACQUIRED_AFTER(mu_);
  // (batches accepted, train steps) at each session's last checkpoint.
  std::map<std::string, std::pair<int64_t, int64_t>> checkpointed_ ABSL_GUARDED_BY(persist_mu_);
  absl::Notification stop_checkpoints_;
  std::thread checkpoint_thread_;
};

// OK when `id` matches [A-Za-z0-9._-]{1,128}; InvalidArgument otherwise,
// naming the problem without echoing a hostile id in full.
absl::Status ValidateSessionId(absl::string_view id);

}  // namespace mine

#endif  // SERVER_CORE_SESSION_MANAGER_H_
