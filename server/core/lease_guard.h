#ifndef SERVER_CORE_LEASE_GUARD_H_
#define SERVER_CORE_LEASE_GUARD_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/core/lease_store.h"

namespace mine {

// What one replica knows, by its own clock, about a lease it holds: until
// when it may still write the session's files, and whether it is giving the
// session up. The deadline is the time the last successful renewal started
// plus ttl minus a safety margin, so a replica stops writing before any
// other replica can see the lease expire (given clocks that agree to within
// the margin). Once the deadline has passed or the lease is lost, the guard
// stays lost: the session in memory may disagree with its log, so it is
// dropped and loaded afresh. Thread-safe.
class LeaseGuard {
 public:
  LeaseGuard(std::string session_id, absl::Time deadline, LeaseClock clock);
  LeaseGuard(const LeaseGuard&) = delete;
  LeaseGuard& operator=(const LeaseGuard&) = delete;

  // After a successful renewal (never revives a lost guard).
  void Extend(absl::Time deadline);
  // From now on batches are refused; checkpoints may still be written.
  void BeginHandoff(const std::string& to);
  // From now on nothing may be written.
  void Lose(const std::string& to);

  // OK when a batch may be appended to the log; UNAVAILABLE (retryable:
  // the session continues on another replica) otherwise.
  absl::Status MayAppend() const;
  // OK when the log may rotate and a checkpoint be written.
  absl::Status MayWrite() const;
  bool lost() const;

 private:
  enum class State { kHeld, kHandingOff, kLost };
  absl::Status Refusal() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Marks the guard lost when its deadline has passed.
  void CheckDeadline() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string session_id_;
  const LeaseClock clock_;
  mutable absl::Mutex mu_;
  absl::Time deadline_ ABSL_GUARDED_BY(mu_);
  mutable State state_ ABSL_GUARDED_BY(mu_) = State::kHeld;
  std::string moving_to_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mine

#endif  // SERVER_CORE_LEASE_GUARD_H_
