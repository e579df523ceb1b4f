#ifndef SERVER_CORE_SESSION_MANAGER_H_
#define SERVER_CORE_SESSION_MANAGER_H_

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/core/session.h"
#include "server/core/session_config.h"
#include "server/core/worker_pool.h"

namespace mine {

struct SessionManagerOptions {
  int workers = 0;          // 0: the CPUs this process may use
  int max_sessions = 10000;
  // Budget for the sum over sessions of window_size * (x_dim + z_dim) plus
  // the ingest queue bound: what the sessions may come to hold in memory
  // (4 bytes a value). CreateSession beyond it: RESOURCE_EXHAUSTED.
  int64_t max_total_values = int64_t{1} << 30;
  SessionOptions session;
  ConfigLimits limits;
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
  ~SessionManager();  // closes every session, then stops the workers
  SessionManager(const SessionManager&) = delete;
  SessionManager& operator=(const SessionManager&) = delete;

  // Creates a session, or returns the existing one when `id` exists with the
  // same effective config (ALREADY_EXISTS when it differs). An empty `id` is
  // replaced by a generated one. RESOURCE_EXHAUSTED past max_sessions.
  absl::StatusOr<std::shared_ptr<Session>> Create(absl::string_view id,
                                                  const SessionConfig& config);
  absl::StatusOr<std::shared_ptr<Session>> Get(absl::string_view id) const;
  // Sessions in id order, starting after `page_token` (the last id of the
  // previous page). page_size 0 means kDefaultPageSize.
  absl::StatusOr<Page> List(int page_size, absl::string_view page_token) const;
  // Closes the session (watchers see it end) and forgets it.
  absl::Status Delete(absl::string_view id);

  int session_count() const;
  const SessionManagerOptions& options() const { return options_; }
  WorkerPool& pool() { return pool_; }

 private:
  std::string GenerateId() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t ReservedValues(const SessionConfig& config) const;

  const SessionManagerOptions options_;
  WorkerPool pool_;
  mutable absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<Session>, std::less<>> sessions_ ABSL_GUARDED_BY(mu_);
  std::mt19937_64 id_rng_ ABSL_GUARDED_BY(mu_);
  int64_t reserved_values_ ABSL_GUARDED_BY(mu_) = 0;
};

// OK when `id` matches [A-Za-z0-9._-]{1,128}; InvalidArgument otherwise,
// naming the problem without echoing a hostile id in full.
absl::Status ValidateSessionId(absl::string_view id);

}  // namespace mine

#endif  // SERVER_CORE_SESSION_MANAGER_H_
