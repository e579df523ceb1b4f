// mine-server: serves mine.v1.MineService (streaming mutual-information
// estimation) over gRPC. Prints one line saying where it listens, then
// serves until SIGINT or SIGTERM, when it drains and exits 0.
//
//   mine-server --port=0 --workers=2
//   mine-server listening on 0.0.0.0:41237 (workers=2, BLAS=/usr/lib/...)
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"
#include "server/core/session.h"
#include "server/core/session_config.h"
#include "server/core/torch_runtime.h"
#include "server/service/event_log.h"
#include "server/service/mine_server.h"

ABSL_FLAG(std::string, host, "0.0.0.0", "address to listen on");
ABSL_FLAG(int, port, 50051, "port to listen on; 0 picks a free one (printed at start-up)");
ABSL_FLAG(int, workers, 0, "training threads; 0: one per CPU this process may use");
ABSL_FLAG(int, max_sessions, mine::SessionManagerOptions().max_sessions,
          "sessions held at once; CreateSession beyond it: RESOURCE_EXHAUSTED");
ABSL_FLAG(int64_t, max_session_memory_mb,
          mine::SessionManagerOptions().max_total_values * 4 / (1 << 20),
          "what the sessions in memory may hold in windows and ingest queues, in MiB; "
          "CreateSession beyond it: RESOURCE_EXHAUSTED");
ABSL_FLAG(int, max_dim, mine::ConfigLimits().max_dim, "largest x_dim and z_dim");
ABSL_FLAG(int64_t, max_batch_rows, mine::SessionOptions().max_batch_rows,
          "most rows in one SampleBatch");
ABSL_FLAG(int, max_message_mb, 16, "largest request message, in MiB");
ABSL_FLAG(int64_t, idle_ttl_s, 0,
          "delete sessions with no batch, RPC or open stream for this many seconds; 0: never");
ABSL_FLAG(int64_t, session_ttl_s, 0,
          "the same TTL under its durability name: sessions (evicted ones too) unused for "
          "this many seconds are deleted with their files; the smaller non-zero of "
          "--idle_ttl_s and --session_ttl_s applies; 0: never");
ABSL_FLAG(int, shutdown_grace_s, 10,
          "on SIGINT/SIGTERM, seconds calls in flight may take to finish (see --drain_s)");
ABSL_FLAG(int, drain_s, 10,
          "on SIGINT/SIGTERM, calls in flight get min(--drain_s, --shutdown_grace_s) seconds; "
          "then every session is checkpointed and the server exits 0");
ABSL_FLAG(std::string, state_dir, "./mine-state",
          "directory where sessions are checkpointed and logged (README \"Durability\"); "
          "empty: sessions live in memory only");
ABSL_FLAG(std::string, fsync, "always",
          "when the sample log is fsynced: 'always' (before every acknowledgement) or "
          "'interval' (at most every --fsync_interval_ms: a machine crash may lose that window)");
ABSL_FLAG(int, fsync_interval_ms, 100, "with --fsync=interval, the longest time between fsyncs");
ABSL_FLAG(int, checkpoint_interval_s, 30,
          "seconds between checkpoints of changed sessions; 0: only at shutdown");
ABSL_FLAG(int64_t, idle_evict_s, 0,
          "with a --state_dir, sessions unused for this many seconds (no call, stream or "
          "watcher) are checkpointed and leave memory, and load back on next use; 0: never");
ABSL_FLAG(bool, shared_state, false,
          "several replicas share --state_dir (README \"Scale-out and failover\"): nothing is "
          "restored at start-up; a session loads on first use under a lease in the state dir, "
          "so one replica at a time trains it. false: the state dir is this process's alone");
ABSL_FLAG(std::string, replica_id, "",
          "with --shared_state, this replica's name in the leases ([A-Za-z0-9._-], unique among "
          "the replicas; in Kubernetes the pod name); empty: the host name");
ABSL_FLAG(int, lease_ttl_s, 10,
          "with --shared_state, seconds a lease lasts unless renewed (every ttl/3): how long "
          "the sessions of a replica that died stay unavailable");

// Security (issue 6): TLS, bearer tokens, tenant quotas, the remaining limits.
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate chain; empty: plaintext");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA bundle; when set, clients must present a certificate it signed (mTLS)");
ABSL_FLAG(std::string, auth_tokens_file, "",
          "file of 'token tenant' lines, re-read on SIGHUP; empty: no authentication");
ABSL_FLAG(int, tenant_max_sessions, 0, "sessions one tenant may hold; 0: no limit");
ABSL_FLAG(double, tenant_rows_per_s, 0, "rows per second one tenant may ingest; 0: no limit");
ABSL_FLAG(int, max_hidden_layers, mine::ConfigLimits().max_hidden_layers,
          "most hidden layers of a statistics network");
ABSL_FLAG(int, max_hidden_units, mine::ConfigLimits().max_hidden_units,
          "most units in one hidden layer");
ABSL_FLAG(int, max_batch_size, mine::ConfigLimits().max_batch_size, "largest training batch");
ABSL_FLAG(int, max_window_size, mine::ConfigLimits().max_window_size,
          "largest sample window, in rows");

// Operability (issue 6).
ABSL_FLAG(int, metrics_port, 9464, "Prometheus /metrics port on --host; 0: off");
ABSL_FLAG(std::string, log_format, "text",
          "structured event log on stderr, one line per event: text, json or off");
ABSL_FLAG(int, metrics_session_gauges, 0,
          "export mine_session_mi_nats{session} for at most this many sessions; 0: none");

namespace {

pthread_t g_main_thread;

// Threads that libraries start before main (OpenBLAS's pool) do not block
// the signals; one delivered to them comes here and is passed on to the
// main thread, which blocks it and takes it with sigwait.
void ForwardToMainThread(int signal) { pthread_kill(g_main_thread, signal); }

// "state: restored k/n sessions", about every tenth of the way and at the end.
void LogRestoreProgress(int done, int total) {
  const int step = std::max(1, total / 10);
  if (total > 0 && (done % step == 0 || done == total)) {
    std::fprintf(stderr, "state: restored %d/%d sessions\n", done, total);
  }
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Serves mine.v1.MineService: streaming MI estimation over gRPC.");
  absl::ParseCommandLine(argc, argv);

  // Block the signals in every thread (threads inherit the mask), and take
  // them synchronously below with sigwait: no work in a signal handler.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  g_main_thread = pthread_self();
  struct sigaction forward = {};
  forward.sa_handler = ForwardToMainThread;
  sigemptyset(&forward.sa_mask);
  for (int signal : {SIGINT, SIGTERM, SIGHUP}) sigaction(signal, &forward, nullptr);

  const int max_message_mb = absl::GetFlag(FLAGS_max_message_mb);
  const int64_t idle_ttl_s =
      absl::GetFlag(FLAGS_idle_ttl_s) == 0 || absl::GetFlag(FLAGS_session_ttl_s) == 0
          ? std::max(absl::GetFlag(FLAGS_idle_ttl_s), absl::GetFlag(FLAGS_session_ttl_s))
          : std::min(absl::GetFlag(FLAGS_idle_ttl_s), absl::GetFlag(FLAGS_session_ttl_s));
  if (max_message_mb < 1 || max_message_mb > 2047) {
    std::fprintf(stderr, "mine-server: --max_message_mb = %d is out of range: 1..2047\n",
                 max_message_mb);
    return 2;
  }
  const std::string fsync = absl::GetFlag(FLAGS_fsync);
  if (fsync != "always" && fsync != "interval") {
    std::fprintf(stderr, "mine-server: --fsync = '%s' must be 'always' or 'interval'\n",
                 fsync.c_str());
    return 2;
  }
  if (absl::GetFlag(FLAGS_fsync_interval_ms) < 1 || absl::GetFlag(FLAGS_checkpoint_interval_s) < 0 ||
      absl::GetFlag(FLAGS_drain_s) < 0 || absl::GetFlag(FLAGS_idle_evict_s) < 0) {
    std::fprintf(stderr,
                 "mine-server: --fsync_interval_ms must be >= 1; --checkpoint_interval_s, "
                 "--drain_s and --idle_evict_s >= 0\n");
    return 2;
  }
  if (idle_ttl_s < 0 || absl::GetFlag(FLAGS_idle_ttl_s) < 0 ||
      absl::GetFlag(FLAGS_session_ttl_s) < 0 || absl::GetFlag(FLAGS_workers) < 0 ||
      absl::GetFlag(FLAGS_max_sessions) < 1 || absl::GetFlag(FLAGS_max_dim) < 1 ||
      absl::GetFlag(FLAGS_max_batch_rows) < 1 || absl::GetFlag(FLAGS_shutdown_grace_s) < 0 ||
      absl::GetFlag(FLAGS_max_session_memory_mb) < 1 ||
      absl::GetFlag(FLAGS_max_session_memory_mb) > (int64_t{1} << 40)) {
    std::fprintf(stderr,
                 "mine-server: --idle_ttl_s, --session_ttl_s, --workers and --shutdown_grace_s must be "
                 ">= 0; "
                 "--max_sessions, --max_dim, --max_batch_rows and --max_session_memory_mb "
                 ">= 1\n");
    return 2;
  }

  if (absl::GetFlag(FLAGS_lease_ttl_s) < 1) {
    std::fprintf(stderr, "mine-server: --lease_ttl_s = %d must be >= 1\n",
                 absl::GetFlag(FLAGS_lease_ttl_s));
    return 2;
  }
  if (absl::GetFlag(FLAGS_shared_state) && absl::GetFlag(FLAGS_state_dir).empty()) {
    std::fprintf(stderr, "mine-server: --shared_state needs a --state_dir to share\n");
    return 2;
  }
  if (absl::GetFlag(FLAGS_shared_state) && fsync != "always") {
    // Rows acknowledged but not yet fsynced may sit in this machine's page
    // cache, where a replica on another machine cannot see them on takeover.
    std::fprintf(stderr,
                 "mine-server: WARNING: --shared_state with --fsync=%s: a replica that dies may "
                 "take up to --fsync_interval_ms of acknowledged rows with it\n",
                 fsync.c_str());
  }
  std::string replica_id = absl::GetFlag(FLAGS_replica_id);
  if (replica_id.empty()) {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0) replica_id = host;
  }

  mine::EventLog::Format log_format;
  if (!mine::EventLog::ParseFormat(absl::GetFlag(FLAGS_log_format), &log_format)) {
    std::fprintf(stderr, "mine-server: --log_format must be text, json or off\n");
    return 2;
  }
  mine::EventLog::SetFormat(log_format);

  const mine::BlasInfo& blas = mine::InitTorchRuntime();
  if (blas.reference) {
    std::fprintf(stderr,
                 "WARNING: the reference BLAS is in use (%s): training is 10-25x slower; "
                 "install libopenblas0-pthread\n",
                 blas.library.c_str());
  }

  mine::MineServerOptions options;
  options.host = absl::GetFlag(FLAGS_host);
  options.port = absl::GetFlag(FLAGS_port);
  options.manager.workers = absl::GetFlag(FLAGS_workers);
  options.manager.max_sessions = absl::GetFlag(FLAGS_max_sessions);
  options.manager.max_total_values = absl::GetFlag(FLAGS_max_session_memory_mb) * (1 << 20) / 4;
  options.manager.limits.max_dim = absl::GetFlag(FLAGS_max_dim);
  options.manager.session.max_batch_rows = absl::GetFlag(FLAGS_max_batch_rows);
  options.max_receive_message_bytes = max_message_mb << 20;
  options.idle_ttl = absl::Seconds(idle_ttl_s);
  mine::PersistenceOptions& persistence = options.manager.persistence;
  persistence.state_dir = absl::GetFlag(FLAGS_state_dir);
  persistence.fsync = fsync == "always" ? mine::FsyncPolicy::kAlways : mine::FsyncPolicy::kInterval;
  persistence.fsync_interval = absl::Milliseconds(absl::GetFlag(FLAGS_fsync_interval_ms));
  persistence.checkpoint_interval = absl::Seconds(absl::GetFlag(FLAGS_checkpoint_interval_s));
  persistence.idle_evict = absl::Seconds(absl::GetFlag(FLAGS_idle_evict_s));
  persistence.shared = absl::GetFlag(FLAGS_shared_state);
  persistence.replica_id = replica_id;
  persistence.lease_ttl = absl::Seconds(absl::GetFlag(FLAGS_lease_ttl_s));
  options.tls = {absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key),
                 absl::GetFlag(FLAGS_tls_client_ca)};
  options.auth_tokens_file = absl::GetFlag(FLAGS_auth_tokens_file);
  options.tenant_quota = {absl::GetFlag(FLAGS_tenant_max_sessions),
                          absl::GetFlag(FLAGS_tenant_rows_per_s)};
  options.manager.limits.max_hidden_layers = absl::GetFlag(FLAGS_max_hidden_layers);
  options.manager.limits.max_hidden_units = absl::GetFlag(FLAGS_max_hidden_units);
  options.manager.limits.max_batch_size = absl::GetFlag(FLAGS_max_batch_size);
  options.manager.limits.max_window_size = absl::GetFlag(FLAGS_max_window_size);
  const int metrics_port = absl::GetFlag(FLAGS_metrics_port);
  options.metrics_port = metrics_port > 0 ? metrics_port : -1;
  options.metrics_session_gauges = absl::GetFlag(FLAGS_metrics_session_gauges);
  options.restore_progress = LogRestoreProgress;
  // The port opens first (health NOT_SERVING, calls UNAVAILABLE), so a probe
  // sees a server that is starting, not one that is down.
  absl::StatusOr<std::unique_ptr<mine::MineServer>> server = mine::MineServer::Listen(options);
  if (!server.ok()) {
    std::fprintf(stderr, "mine-server: %s\n", server.status().ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "mine-server: port %d open, NOT_SERVING until the state is restored\n",
               (*server)->port());
  if (absl::Status restored = (*server)->RestoreAndServe(); !restored.ok()) {
    std::fprintf(stderr, "mine-server: %s\n", restored.ToString().c_str());
    return 1;
  }
  std::printf("mine-server listening on %s (workers=%d, BLAS=%s)\n",
              (*server)->address().c_str(), (*server)->manager().pool().threads(),
              blas.library.c_str());
  std::fflush(stdout);
  if ((*server)->metrics_port() > 0) {
    std::fprintf(stderr, "mine-server: metrics on http://%s:%d/metrics\n",
                 options.host.c_str(), (*server)->metrics_port());
  }
  std::fprintf(stderr, "mine-server: %s, %s\n", (*server)->tls() ? "TLS" : "plaintext (no TLS)",
               (*server)->authenticating()
                   ? "bearer tokens required"
                   : "OPEN: no --auth_tokens_file, every caller may use every session");

  int signal = 0;
  while (sigwait(&signals, &signal) == 0 && signal == SIGHUP) {
    const absl::Status reloaded = (*server)->ReloadTokens();
    std::fprintf(stderr, "mine-server: SIGHUP: tokens %s\n",
                 reloaded.ok() ? "reloaded" : reloaded.ToString().c_str());
  }
  const int drain_s = std::min(absl::GetFlag(FLAGS_drain_s), absl::GetFlag(FLAGS_shutdown_grace_s));
  std::fprintf(stderr, "mine-server: %s received; draining (at most %d s), then checkpointing\n",
               signal == SIGINT ? "SIGINT" : "SIGTERM", drain_s);
  (*server)->Shutdown(absl::Seconds(drain_s));
  server->reset();
  std::fprintf(stderr, "mine-server: stopped\n");
  return 0;
}
