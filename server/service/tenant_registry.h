#ifndef SERVER_SERVICE_TENANT_REGISTRY_H_
#define SERVER_SERVICE_TENANT_REGISTRY_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/core/session_manager.h"

namespace mine {

// Per-tenant limits; 0 means unlimited.
struct TenantQuota {
  int max_sessions = 0;          // sessions a tenant holds at once
  double rows_per_second = 0;    // ingest rate (token bucket, 1 s burst)
};

// Which tenant owns which session, and the per-tenant quotas. The service
// layer's view of tenancy: the core knows nothing of tenants. A session is
// visible only to the tenant that created it; to every other tenant it does
// not exist (NOT_FOUND, the same message the core gives for a missing id).
// When `enforce` is false (no tokens file) every caller is tenant "" and
// owns every session. Thread-safe; `manager` is borrowed and outlives it.
//
//   TenantRegistry tenants(&manager, quota, /*enforce=*/true);
//   auto session = tenants.Create("acme", "s1", config);
//   auto same = tenants.Find("acme", "s1");    // ok
//   auto none = tenants.Find("other", "s1");   // NOT_FOUND
class TenantRegistry {
 public:
  // Who owns what survives restarts. With a state dir (the manager's), each
  // session's owner is in `<state_dir>/sessions/<id>/tenant`, written
  // atomically at create and removed with the session, so replicas sharing
  // the dir never overwrite each other's. `owners_file` (one "id tenant"
  // line per session) is the older single file: read here; with a state dir
  // its entries are moved into the sessions' files (and it is renamed to
  // `<owners_file>.migrated`), without one it is rewritten atomically on
  // every create and delete.
  TenantRegistry(SessionManager* manager, TenantQuota quota, bool enforce,
                 std::string owners_file = "");
  TenantRegistry(const TenantRegistry&) = delete;
  TenantRegistry& operator=(const TenantRegistry&) = delete;

  // SessionManager::Create, owned by `tenant`. RESOURCE_EXHAUSTED past the
  // tenant's max_sessions; ALREADY_EXISTS when another tenant holds `id`.
  absl::StatusOr<std::shared_ptr<Session>> Create(const std::string& tenant,
                                                  absl::string_view id,
                                                  const SessionConfig& config);
  absl::StatusOr<std::shared_ptr<Session>> Find(const std::string& tenant,
                                                absl::string_view id) const;
  absl::Status Delete(const std::string& tenant, absl::string_view id);
  // The tenant's sessions in id order after `page_token`.
  absl::StatusOr<SessionManager::Page> List(const std::string& tenant, int page_size,
                                            absl::string_view page_token) const;

  // Takes `rows` from the tenant's ingest budget, or RESOURCE_EXHAUSTED.
  // A batch larger than the burst passes when the bucket is full and
  // leaves it in debt, so every valid batch can get in eventually.
  absl::Status AdmitRows(const std::string& tenant, int64_t rows, absl::Time now = absl::Now());

  bool enforced() const { return enforce_; }

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time refilled = absl::InfinitePast();
  };

  bool Owns(const std::string& tenant, absl::string_view id) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void LoadOwners() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes each loaded owner into its session's tenant file (state dir).
  void MigrateOwners() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status SaveOwners() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Records `tenant` as the owner of `id`.
  absl::Status SetOwner(const std::string& id, const std::string& tenant)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The owner of `id`; nullopt when none is recorded.
  std::optional<std::string> OwnerOf(absl::string_view id) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sessions `tenant` holds, excluding `except`.
  int CountSessions(const std::string& tenant, absl::string_view except)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string TenantFile(absl::string_view id) const;

  SessionManager* const manager_;
  const TenantQuota quota_;
  const bool enforce_;
  const std::string owners_file_;
  const std::string sessions_dir_;  // <state_dir>/sessions; empty without a state dir
  absl::Mutex create_mu_ ABSL_ACQUIRED_BEFORE(mu_);  // serialises Create
  mutable absl::Mutex mu_;
  // id -> tenant: every owner without a state dir; with one, only the
  // legacy file's entries whose session files are missing.
  std::map<std::string, std::string, std::less<>> owners_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mine

#endif  // SERVER_SERVICE_TENANT_REGISTRY_H_
