#ifndef SERVER_SERVICE_SERVICE_CONTEXT_H_
#define SERVER_SERVICE_SERVICE_CONTEXT_H_

#include <atomic>
#include <memory>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "server/core/session_manager.h"
#include "server/service/scheduler.h"
#include "server/service/service_metrics.h"
#include "server/service/session_reaper.h"
#include "server/service/tenant_registry.h"
#include "server/service/token_store.h"

namespace mine {

// A long-lived call that must end when the server starts draining.
class Drainable {
 public:
  virtual ~Drainable() = default;
  // Ends the call soon with UNAVAILABLE. Must not block.
  virtual void Drain() = 0;
};

// What the RPC handlers and reactors share: the core, a timer thread, the
// idle-session reaper, authentication and tenancy, and the draining state.
// Thread-safe. Everything passed in is borrowed and must outlive every call;
// without `tokens` and `tenants` the service is open (one tenant, "").
class ServiceContext {
 public:
  ServiceContext(SessionManager* manager, SessionReaper* reaper,
                 const TokenStore* tokens = nullptr, TenantRegistry* tenants = nullptr,
                 ServiceMetrics* metrics = nullptr)
      : manager_(manager),
        reaper_(reaper),
        tokens_(tokens),
        own_tenants_(tenants == nullptr
                         ? std::make_unique<TenantRegistry>(manager, TenantQuota(), false)
                         : nullptr),
        tenants_(tenants == nullptr ? own_tenants_.get() : tenants),
        metrics_(metrics) {}
  ServiceContext(const ServiceContext&) = delete;
  ServiceContext& operator=(const ServiceContext&) = delete;

  SessionManager& manager() { return *manager_; }
  SessionReaper& reaper() { return *reaper_; }
  Scheduler& scheduler() { return scheduler_; }
  // Session access on behalf of a tenant: use it, not manager(), in handlers.
  TenantRegistry& tenants() { return *tenants_; }

  // Counts a batch's outcome: rows accepted or the reason it was refused.
  void RecordIngest(const absl::Status& status, int64_t accepted_rows) {
    if (metrics_ == nullptr) return;
    if (status.ok()) {
      metrics_->OnRowsIngested(accepted_rows);
    } else {
      metrics_->OnBatchRejected(status);
    }
  }

  // The caller's tenant from its `authorization: Bearer <token>` metadata;
  // UNAUTHENTICATED when it is missing or wrong. "" when the service is open.
  absl::StatusOr<std::string> Authenticate(const grpc::ServerContextBase& call) const {
    if (tokens_ == nullptr || tokens_->open()) return std::string();
    const auto& metadata = call.client_metadata();
    auto it = metadata.find("authorization");
    if (it == metadata.end()) return tokens_->Authenticate("");
    return tokens_->Authenticate(absl::string_view(it->second.data(), it->second.size()));
  }

  bool draining() const { return draining_.load(std::memory_order_acquire); }
  // While true every MineService call is refused with UNAVAILABLE (the
  // server listens before its sessions are restored).
  bool restoring() const { return restoring_.load(std::memory_order_acquire); }
  void set_restoring(bool restoring) { restoring_.store(restoring, std::memory_order_release); }

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
  const TokenStore* const tokens_;
  const std::unique_ptr<TenantRegistry> own_tenants_;
  TenantRegistry* const tenants_;
  ServiceMetrics* const metrics_;  // may be null
  Scheduler scheduler_;
  std::atomic<bool> draining_{false};
  std::atomic<bool> restoring_{false};
  absl::Mutex mu_;
  std::set<Drainable*> calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mine

#endif  // SERVER_SERVICE_SERVICE_CONTEXT_H_
