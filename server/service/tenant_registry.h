#ifndef SERVER_SERVICE_TENANT_REGISTRY_H_
#define SERVER_SERVICE_TENANT_REGISTRY_H_

#include <cstdint>
#include <map>
#include <memory>
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
  // With a non-empty `owners_file` (one "id tenant" line per session), who
  // owns what survives restarts: the file is read here and rewritten
  // atomically on every create and delete.
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
  absl::Status SaveOwners() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  SessionManager* const manager_;
  const TenantQuota quota_;
  const bool enforce_;
  const std::string owners_file_;
  absl::Mutex create_mu_ ABSL_ACQUIRED_BEFORE(mu_);  // serialises Create
  mutable absl::Mutex mu_;
  std::map<std::string, std::string, std::less<>> owners_ ABSL_GUARDED_BY(mu_);  // id -> tenant
  std::map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mine

#endif  // SERVER_SERVICE_TENANT_REGISTRY_H_
