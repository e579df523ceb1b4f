// mine-server: serves mine.v1.MineService (streaming mutual-information
// estimation) over gRPC. Prints one line saying where it listens, then
// serves until SIGINT or SIGTERM, when it drains and exits 0.
//
//   mine-server --port=0 --workers=2
//   mine-server listening on 0.0.0.0:41237 (workers=2, BLAS=/usr/lib/...)
#include <pthread.h>
#include <signal.h>

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
#include "server/service/mine_server.h"

ABSL_FLAG(std::string, host, "0.0.0.0", "address to listen on");
ABSL_FLAG(int, port, 50051, "port to listen on; 0 picks a free one (printed at start-up)");
ABSL_FLAG(int, workers, 0, "training threads; 0: one per CPU this process may use");
ABSL_FLAG(int, max_sessions, mine::SessionManagerOptions().max_sessions,
          "sessions held at once; CreateSession beyond it: RESOURCE_EXHAUSTED");
ABSL_FLAG(int, max_dim, mine::ConfigLimits().max_dim, "largest x_dim and z_dim");
ABSL_FLAG(int64_t, max_batch_rows, mine::SessionOptions().max_batch_rows,
          "most rows in one SampleBatch");
ABSL_FLAG(int, max_message_mb, 16, "largest request message, in MiB");
ABSL_FLAG(int64_t, idle_ttl_s, 0,
          "delete sessions with no batch, RPC or open stream for this many seconds; 0: never");
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

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Serves mine.v1.MineService: streaming MI estimation over gRPC.");
  absl::ParseCommandLine(argc, argv);

  // Block the signals in every thread (threads inherit the mask), and take
  // them synchronously below with sigwait: no work in a signal handler.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const int max_message_mb = absl::GetFlag(FLAGS_max_message_mb);
  const int64_t idle_ttl_s = absl::GetFlag(FLAGS_idle_ttl_s);
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
  if (idle_ttl_s < 0 || absl::GetFlag(FLAGS_workers) < 0 ||
      absl::GetFlag(FLAGS_max_sessions) < 1 || absl::GetFlag(FLAGS_max_dim) < 1 ||
      absl::GetFlag(FLAGS_max_batch_rows) < 1 || absl::GetFlag(FLAGS_shutdown_grace_s) < 0) {
    std::fprintf(stderr,
                 "mine-server: --idle_ttl_s, --workers and --shutdown_grace_s must be >= 0; "
                 "--max_sessions, --max_dim and --max_batch_rows >= 1\n");
    return 2;
  }

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
  absl::StatusOr<std::unique_ptr<mine::MineServer>> server = mine::MineServer::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "mine-server: %s\n", server.status().ToString().c_str());
    return 1;
  }
  std::printf("mine-server listening on %s (workers=%d, BLAS=%s)\n",
              (*server)->address().c_str(), (*server)->manager().pool().threads(),
              blas.library.c_str());
  std::fflush(stdout);

  int signal = 0;
  sigwait(&signals, &signal);
  const int drain_s = std::min(absl::GetFlag(FLAGS_drain_s), absl::GetFlag(FLAGS_shutdown_grace_s));
  std::fprintf(stderr, "mine-server: %s received; draining (at most %d s), then checkpointing\n",
               signal == SIGINT ? "SIGINT" : "SIGTERM", drain_s);
  (*server)->Shutdown(absl::Seconds(drain_s));
  server->reset();
  std::fprintf(stderr, "mine-server: stopped\n");
  return 0;
}
