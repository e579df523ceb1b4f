#ifndef SERVER_CORE_LEASE_KEEPER_H_
#define SERVER_CORE_LEASE_KEEPER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "server/core/lease_guard.h"
#include "server/core/lease_store.h"

namespace mine {

// The leases one replica holds, kept alive: every ttl/3 each is renewed.
// A renewal that finds another replica's request hands the session off
// (`hand_off`); one that finds the lease taken, the session deleted, or its
// own deadline passed drops the session (`lost`). The callbacks run without
// the keeper's lock, on a thread of their own (a slow handoff checkpoint
// must not delay the renewal of the other leases), one at a time, and must
// call Give or Forget for the id. Thread-safe.
//
//   LeaseKeeper keeper(std::make_unique<LeaseStore>(...));
//   keeper.Start({on_hand_off, on_lost});
//   absl::StatusOr<std::shared_ptr<LeaseGuard>> guard = keeper.Take("s1");
class LeaseKeeper {
 public:
  struct Callbacks {
    // (session id, replica that asked for it)
    std::function<void(const std::string&, const std::string&)> hand_off;
    // (session id, replica that holds it now, or empty)
    std::function<void(const std::string&, const std::string&)> lost;
  };

  explicit LeaseKeeper(std::unique_ptr<LeaseStore> store);
  ~LeaseKeeper();  // Stop()
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  // Acquires the session's lease (LeaseStore::Acquire) and keeps it.
  absl::StatusOr<std::shared_ptr<LeaseGuard>> Take(absl::string_view id);
  // The guard of a lease this replica keeps, or null.
  std::shared_ptr<LeaseGuard> Guard(absl::string_view id) const;
  // Releases the lease on disk and stops keeping it.
  void Give(absl::string_view id);
  // Stops keeping it without writing anything (lost, or its files deleted).
  void Forget(absl::string_view id);
  // Gives every lease back (shutdown), so others need not wait for expiry.
  void GiveAll();

  // One round of renewals, then its handoffs and drops, here and now (for
  // tests, which drive it with their own clock; the threads do the same
  // every ttl/3).
  void RenewAll();
  void Start(Callbacks callbacks);
  void Stop();  // idempotent

  LeaseStore& store() { return *store_; }
  // ttl minus what a replica keeps in hand against clock skew and slow
  // writes: how long after a renewal begins it may still write.
  absl::Duration usable() const;

 private:
  struct Held {
    int64_t epoch;
    std::shared_ptr<LeaseGuard> guard;
  };
  // What a renewal found for a session: hand it to `other`, or drop it
  // (`other` holds it now, or no one).
  struct Move {
    bool hand_off;
    std::string id;
    std::string other;
    int64_t epoch;
  };
  std::vector<Move> Renew();
  void Run(const Move& move);
  void Loop();
  void MoveLoop();
  bool StillHeld(const std::string& id, int64_t epoch) const;

  const std::unique_ptr<LeaseStore> store_;
  mutable absl::Mutex mu_;
  std::map<std::string, Held, std::less<>> held_ ABSL_GUARDED_BY(mu_);
  Callbacks callbacks_;  // set by Start, before the threads run
  absl::Mutex moves_mu_;
  std::vector<Move> moves_ ABSL_GUARDED_BY(moves_mu_);
  bool stopping_ ABSL_GUARDED_BY(moves_mu_) = false;
  absl::Notification stop_;
  std::thread thread_;        // renewals
  std::thread move_thread_;   // handoffs and drops
};

}  // namespace mine

#endif  // SERVER_CORE_LEASE_KEEPER_H_
