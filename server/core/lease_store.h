#ifndef SERVER_CORE_LEASE_STORE_H_
#define SERVER_CORE_LEASE_STORE_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace mine {

// Wall clock; injectable so that tests can step time.
using LeaseClock = std::function<absl::Time()>;

// Who may train a session when several replicas share one state directory.
struct Lease {
  std::string owner;         // replica id; empty: free (released, or never taken)
  int64_t epoch = 0;         // +1 at every Acquire: tells incarnations of a lease apart
  absl::Time expires = absl::InfinitePast();  // wall clock; after it the lease is free
  std::string requested_by;  // a replica that asked for the session; empty: none

  bool HeldBy(absl::string_view replica) const { return !owner.empty() && owner == replica; }
};

// The lease files of a shared state directory, one per session:
//
//   <sessions_dir>/<id>/lease        "lease1 <owner|-> <epoch> <expires unix ms> <requested_by|->"
//   <sessions_dir>/<id>/lease.lock   flock(2)ed around every read-modify-write
//
// Every change is a read-modify-write of `lease` under an exclusive flock of
// `lease.lock`, and `lease` is replaced atomically (write, fsync, rename).
// flock rather than O_EXCL marker files: the kernel drops the lock when its
// holder dies (kill -9 leaves nothing to clean up), and exclusion does not
// depend on timing. Expiry is wall-clock time, so replicas on different
// machines need clocks that agree to well within the ttl (NTP does).
// Thread-safe; one instance per replica.
//
//   LeaseStore leases(dir + "/sessions", "replica-a", absl::Seconds(10), absl::Now);
//   absl::StatusOr<Lease> lease = leases.Acquire("s1");   // UNAVAILABLE when held elsewhere
//   leases.Renew("s1", lease->epoch);
class LeaseStore {
 public:
  LeaseStore(std::string sessions_dir, std::string replica_id, absl::Duration ttl,
             LeaseClock clock);
  LeaseStore(const LeaseStore&) = delete;
  LeaseStore& operator=(const LeaseStore&) = delete;

  // Takes the lease for this replica with a new epoch when it is free,
  // expired or already this replica's (a restarted replica takes back its
  // own). When another replica holds it, records this one as requested_by
  // and returns UNAVAILABLE naming the holder. NOT_FOUND when the session
  // has no directory.
  absl::StatusOr<Lease> Acquire(absl::string_view id);
  // Extends the lease when this replica still holds it at `epoch`. Returns
  // the record as it is afterwards: held by someone else (or by another
  // epoch) means the lease was lost; requested_by set means another replica
  // wants the session. NOT_FOUND when the session was deleted.
  absl::StatusOr<Lease> Renew(absl::string_view id, int64_t epoch);
  // Frees the lease if this replica still holds it at `epoch` (handoff,
  // eviction, shutdown), so that a requester need not wait for expiry.
  absl::Status Release(absl::string_view id, int64_t epoch);
  // The record as on disk; a session without a lease file reads as free.
  absl::StatusOr<Lease> Read(absl::string_view id) const;

  const std::string& replica_id() const { return replica_id_; }
  absl::Duration ttl() const { return ttl_; }
  absl::Time Now() const { return clock_(); }

  static std::string Format(const Lease& lease);
  // DataLoss for text that is not a lease record.
  static absl::StatusOr<Lease> Parse(absl::string_view text);

 private:
  // Runs `change` on the record under the session's lock file and writes
  // the result back when `change` returns true.
  absl::StatusOr<Lease> Update(absl::string_view id,
                               const std::function<absl::StatusOr<bool>(Lease&)>& change) const;
  std::string SessionDir(absl::string_view id) const;

  const std::string sessions_dir_;
  const std::string replica_id_;
  const absl::Duration ttl_;
  const LeaseClock clock_;
};

}  // namespace mine

#endif  // SERVER_CORE_LEASE_STORE_H_
