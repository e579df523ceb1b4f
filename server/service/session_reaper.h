#ifndef SERVER_SERVICE_SESSION_REAPER_H_
#define SERVER_SERVICE_SESSION_REAPER_H_

#include <map>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/core/session_manager.h"

namespace mine {

// Deletes sessions that have been idle for `ttl`: no accepted batch (the
// core's updated_at), no RPC naming them (Touch) and no open stream on them
// (StreamOpened/StreamClosed). A ttl of zero never deletes anything.
// Thread-safe. `manager` is borrowed and must outlive the reaper.
//
//   SessionReaper reaper(&manager, absl::Minutes(10));
//   reaper.Start();            // checks every ttl/10, between 0.1 s and 10 s
//   reaper.Touch("s1");        // from the RPC handlers
class SessionReaper {
 public:
  SessionReaper(SessionManager* manager, absl::Duration ttl);
  ~SessionReaper();  // Stop()
  SessionReaper(const SessionReaper&) = delete;
  SessionReaper& operator=(const SessionReaper&) = delete;

  // Starts the background check (nothing when ttl is zero). Idempotent.
  void Start();
  void Stop();

  void Touch(absl::string_view id);
  void StreamOpened(absl::string_view id);
  void StreamClosed(absl::string_view id);

  // Deletes the sessions idle at `now`; returns how many. What the
  // background thread runs; public for tests.
  int ReapIdle(absl::Time now);

  absl::Duration ttl() const { return ttl_; }

 private:
  struct Activity {
    absl::Time last_touch = absl::InfinitePast();
    int open_streams = 0;
  };
  void Loop();

  SessionManager* const manager_;
  const absl::Duration ttl_;
  absl::Mutex mu_;
  std::map<std::string, Activity, std::less<>> activity_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace mine

#endif  // SERVER_SERVICE_SESSION_REAPER_H_
