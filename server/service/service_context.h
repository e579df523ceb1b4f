#ifndef SERVER_SERVICE_SERVICE_CONTEXT_H_
#define SERVER_SERVICE_SERVICE_CONTEXT_H_

#include <atomic>
#include <set>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/core/session_manager.h"
#include "server/service/scheduler.h"
#include "server/service/session_reaper.h"

namespace mine {

// A long-lived call that must end when the server starts draining.
class Drainable {
 public:
  virtual ~Drainable() = default;
  // Ends the call soon with UNAVAILABLE. Must not block.
  virtual void Drain() = 0;
};

// What the RPC handlers and reactors share: the core, a timer thread, the
// idle-session reaper and the draining state. Thread-safe. The manager and
// reaper are borrowed and must outlive every call.
class ServiceContext {
 public:
  ServiceContext(SessionManager* manager, SessionReaper* reaper)
      : manager_(manager), reaper_(reaper) {}
  ServiceContext(const ServiceContext&) = delete;
  ServiceContext& operator=(const ServiceContext&) = delete;

  SessionManager& manager() { return *manager_; }
  SessionReaper& reaper() { return *reaper_; }
  Scheduler& scheduler() { return scheduler_; }

  bool draining() const { return draining_.load(std::memory_order_acquire); }

  // Registers a call to be drained; false (and nothing registered) when the
  // server is draining already. REQUIRES: Unregister before `call` dies.
  bool Register(Drainable* call) {
    absl::MutexLock lock(&mu_);
    if (draining_.load()) return false;
    calls_.insert(call);
    return true;
  }
  void Unregister(Drainable* call) {
    absl::MutexLock lock(&mu_);
    calls_.erase(call);
  }

  // From now on new calls are refused and registered ones end.
  void StartDraining() {
    absl::MutexLock lock(&mu_);
    draining_.store(true, std::memory_order_release);
    for (Drainable* call : calls_) call->Drain();
  }

 private:
  SessionManager* const manager_;
  SessionReaper* const reaper_;
  Scheduler scheduler_;
  std::atomic<bool> draining_{false};
  absl::Mutex mu_;
  std::set<Drainable*> calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mine

#endif  // SERVER_SERVICE_SERVICE_CONTEXT_H_
