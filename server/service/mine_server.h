#ifndef SERVER_SERVICE_MINE_SERVER_H_
#define SERVER_SERVICE_MINE_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "server/core/session_manager.h"
#include "server/service/core_event_reporter.h"
#include "server/service/mine_service_impl.h"
#include "server/service/service_context.h"
#include "server/service/service_metrics.h"
#include "server/service/session_reaper.h"
#include "server/service/tenant_registry.h"
#include "server/service/token_store.h"

namespace mine {

// PEM files. No cert_file: plaintext. client_ca_file: mutual TLS, a client
// certificate signed by that CA is required.
struct TlsOptions {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
};

struct MineServerOptions {
  std::string host = "0.0.0.0";
  int port = 50051;  // 0: any free port (see MineServer::port())
  SessionManagerOptions manager;
  int max_receive_message_bytes = 16 << 20;  // larger requests: RESOURCE_EXHAUSTED
  absl::Duration idle_ttl = absl::ZeroDuration();  // zero: sessions never expire
  TlsOptions tls;
  // `token tenant` lines (see TokenStore); empty: open, no authentication.
  std::string auth_tokens_file;
  TenantQuota tenant_quota;
  // Prometheus /metrics on host:metrics_port; -1: off, 0: any free port.
  int metrics_port = -1;
  // Per-session MI gauges for at most this many sessions; 0: none.
  int metrics_session_gauges = 0;
  // Told how restoring the state dir goes (see SessionManager::RestoreProgress);
  // may be empty.
  SessionManager::RestoreProgress restore_progress;
};

// A running mine-server: the core (SessionManager and its workers), the
// MineService, the standard health service ("" and "mine.v1.MineService"),
// reflection (grpc.reflection.v1alpha), the idle-session reaper,
// bearer-token authentication with per-tenant sessions and quotas, listening
// on one port, plaintext or TLS. Owns all of them. Thread-safe.
//
// The port opens before the sessions of options.manager.persistence.state_dir
// are restored, so probes can tell "starting" from "down": health answers
// NOT_SERVING and every MineService call UNAVAILABLE ("restoring state")
// until the restore is complete, then SERVING, and NOT_SERVING again from
// the moment Shutdown starts. Nothing is served from a half-restored state.
//
//   auto server = MineServer::Start(options);   // restored and serving now
//   std::printf("port %d\n", (*server)->port());
//   (*server)->Shutdown(absl::Seconds(10));     // drain, then stop
class MineServer {
 public:
  // Listen, then RestoreAndServe: returns a serving server.
  static absl::StatusOr<std::unique_ptr<MineServer>> Start(const MineServerOptions& options);
  // Opens the port with health NOT_SERVING and MineService refusing calls.
  static absl::StatusOr<std::unique_ptr<MineServer>> Listen(const MineServerOptions& options);
  // Restores the state dir (reporting to options.restore_progress), then
  // turns health SERVING and accepts calls, unless Shutdown began meanwhile.
  // An error when the state dir cannot be used at all. Call once, after
  // Listen; it must return before Shutdown is called.
  absl::Status RestoreAndServe();
  ~MineServer();  // Shutdown(absl::ZeroDuration()) unless already shut down
  MineServer(const MineServer&) = delete;
  MineServer& operator=(const MineServer&) = delete;

  int port() const { return port_; }
  std::string address() const;  // host:port as listened on
  SessionManager& manager() { return *manager_; }
  bool tls() const { return !options_.tls.cert_file.empty(); }
  // False when the server runs open (no tokens file).
  bool authenticating() const { return !tokens_->open(); }
  // Re-reads the tokens file (SIGHUP); on error the old tokens stay.
  absl::Status ReloadTokens() { return tokens_->Reload(); }
  // The port /metrics is served on; 0 when off.
  int metrics_port() const { return metrics_->port(); }

  // Health goes NOT_SERVING, new streams and session creation are refused
  // with UNAVAILABLE, watchers end with UNAVAILABLE; calls in flight may
  // finish for `grace`, then the rest are cancelled; then every changed
  // session is checkpointed. Returns when all that is done. Idempotent.
  void Shutdown(absl::Duration grace);

 private:
  MineServer(const MineServerOptions& options, std::unique_ptr<TokenStore> tokens,
             std::unique_ptr<ServiceMetrics> metrics);

  const MineServerOptions options_;
  int port_ = 0;
  std::unique_ptr<ServiceMetrics> metrics_;  // first in, last out: sessions report to it
  std::unique_ptr<CoreEventReporter> reporter_;  // the sessions' observer, over metrics_
  std::unique_ptr<SessionManager> manager_;
  std::unique_ptr<SessionReaper> reaper_;
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<TenantRegistry> tenants_;
  std::unique_ptr<ServiceContext> context_;
  std::unique_ptr<MineServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
  // Orders the switch to SERVING with the switch to NOT_SERVING at shutdown.
  void SetServing(bool serving) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shutdown_mu_);
};

}  // namespace mine

#endif  // SERVER_SERVICE_MINE_SERVER_H_
