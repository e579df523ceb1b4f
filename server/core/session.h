#ifndef SERVER_CORE_SESSION_H_
#define SERVER_CORE_SESSION_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "server/core/alert_evaluator.h"
#include "server/core/alert_history.h"
#include "server/core/estimate.h"
#include "server/core/plateau_detector.h"
#include "server/core/quantile_normalizer.h"
#include "server/core/running_moments.h"
#include "server/core/sample_window.h"
#include "server/core/session_config.h"
#include "server/core/training_observer.h"
#include "server/core/worker_pool.h"

namespace mine {

class Trainer;

// Knobs of the training schedule and the ingest queue (not per-session API).
struct SessionOptions {
  // Bound on queued, not yet applied values (rows * (x_dim + z_dim)). A batch
  // is refused with RESOURCE_EXHAUSTED when it would overflow a non-empty
  // queue; an empty queue takes any batch, so every valid batch can get in.
  int64_t max_pending_values = int64_t{1} << 20;
  int64_t max_batch_rows = int64_t{1} << 20;
  int steps_per_slice = 50;        // training steps between evaluations
  // A slice also ends after this long, so a slow config (INFONCE, wide nets)
  // cannot hold a worker for seconds while other sessions wait.
  absl::Duration max_slice_duration = absl::Milliseconds(200);
  int64_t max_evaluation_rows = 4096;  // newest held-out rows scored
  // INFONCE scores every pair of a chunk: cap its held-out rows at this many
  // training batches so an evaluation costs about as much as a few steps.
  int max_evaluation_chunks = 4;
  int plateau_span = PlateauDetector::kDefaultSpan;  // evaluations per half, see PlateauDetector
  int64_t min_holdout_rows = 64;   // before the first estimate
  int64_t reopen_rows = 0;         // new rows that restart a converged session; 0 = batch_size
  TrainingObserver* observer = nullptr;  // borrowed, outlives the session; may be null
};

struct IngestResult {
  int64_t accepted_rows = 0;  // 0 for a duplicate
  bool duplicate = false;     // sequence at or below the last accepted one
  int64_t samples_seen = 0;   // rows accepted by the session so far
};

// Where a session writes each accepted batch before Ingest acknowledges it
// (the write-ahead sample log, see SessionStore). Called with the session's
// lock held, by one thread at a time.
class IngestLog {
 public:
  virtual ~IngestLog() = default;
  // Records batch number `index` (1, 2, ... in acceptance order). OK means
  // durable under the log's fsync policy; an error refuses the batch.
  virtual absl::Status Append(int64_t index, int64_t sequence, absl::Span<const float> x,
                              absl::Span<const float> z) = 0;
  // Later records go to a new segment whose first index is `first_index`,
  // so that the segments before it can be removed once a checkpoint that
  // covers them is on disk.
  virtual absl::Status Rotate(int64_t first_index) = 0;
  // Forces appended records to disk (for logs that do not on every Append).
  virtual absl::Status Sync() { return absl::OkStatus(); }
};

// A serialised session (see Session::Snapshot) and the batches it covers.
struct SessionSnapshot {
  std::string payload;
  int64_t batches_covered = 0;  // log records 1..batches_covered are in it
};

struct SessionStatus {
  int64_t samples_seen = 0;   // rows accepted (acknowledged)
  int64_t train_steps = 0;
  int64_t pending_rows = 0;   // accepted, not yet in the window
  int64_t last_sequence = 0;  // highest sequence accepted
  absl::Time created_at;
  absl::Time updated_at;      // last accepted batch, or creation
  Estimate latest;
  int64_t alerts_total = 0;  // every alert ever raised (see Session::alert_history)
  bool threshold_firing = false;
  bool change_armed = false;         // see AlertEvaluator
  double change_reference_nats = 0;  // when change_armed
};

// One stream's estimator: its effective config, a window of recent rows with
// a held-out part that is never trained on, a statistics network and
// optimiser, and its own RNG seeded from the config, so the same seed and the
// same sequence of batches and slices give the same estimates.
//
// Thread-safe: Ingest, status and subscriptions may be called from any
// thread; RunSlice is called by one worker at a time (the WorkerPool
// guarantees it; tests may call it directly when no pool is attached).
//
//   auto session = Session::Create("s1", config, &pool);
//   (*session)->Ingest(x, z);              // validated, queued, pool woken
//   Estimate e = (*session)->latest_estimate();
class Session : public WorkerPool::Task,
                public std::enable_shared_from_this<Session> {
 public:
  using EstimateCallback = std::function<void(const Estimate&)>;
  using ClosedCallback = std::function<void()>;

  // `pool` (borrowed, may be null) must outlive the session's last Ingest;
  // with no pool, nothing trains until RunSlice is called.
  static absl::StatusOr<std::shared_ptr<Session>> Create(
      std::string id, const SessionConfig& requested, WorkerPool* pool,
      const SessionOptions& options = SessionOptions(),
      const ConfigLimits& limits = ConfigLimits());
  ~Session() override;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const std::string& id() const { return id_; }
  const SessionConfig& config() const { return config_; }

  // Validates and queues a row-major batch. InvalidArgument (naming the field
  // and row) leaves the session unchanged; ResourceExhausted when the ingest
  // queue is full (see NotifyWhenRoom); NotFound once closed. A `sequence` > 0
  // at or below the last accepted one is acknowledged as a duplicate.
  absl::StatusOr<IngestResult> Ingest(absl::Span<const float> x,
                                      absl::Span<const float> z,
                                      int64_t sequence = 0);
  // Calls `callback` once, from some thread, when the ingest queue has
  // drained or the session closed (at once if the queue is empty now).
  void NotifyWhenRoom(std::function<void()> callback);

  Estimate latest_estimate() const;
  SessionStatus status() const;
  // The newest AlertHistory::kCapacity alerts, oldest first (apart from
  // status(), which is read often and stays cheap).
  std::deque<AlertEvent> alert_history() const;
  // Blocks until an estimate reflects at least `rows` applied rows, the
  // session closes, or `timeout` passes; returns whether the first happened.
  bool WaitForEstimate(int64_t rows, absl::Duration timeout) const;

  // Each published estimate carries the alerts it raised (Estimate::alerts;
  // rules from config().alert_rules), evaluated in publication order.
  // Callbacks run on a worker thread with a subscription lock held: keep them
  // short and do not Subscribe/Unsubscribe from inside them. After
  // Unsubscribe returns, the callbacks are not running and never run again.
  // On a closed session, `on_closed` runs at once and 0 is returned.
  int64_t Subscribe(EstimateCallback on_estimate, ClosedCallback on_closed);
  void Unsubscribe(int64_t subscription);

  // Persistence. Snapshot serialises every piece of state (config, network,
  // optimiser, bound, windows, normalisers, plateau history, counters, RNG,
  // queued batches) and rotates the attached log, so that log records after
  // `batches_covered` are exactly the batches the snapshot lacks. Blocks
  // training and ingest while it runs. FailedPrecondition once closed.
  absl::StatusOr<SessionSnapshot> Snapshot();
  // A session equal to the one Snapshot serialised. DataLoss when `payload`
  // is malformed; InvalidArgument when its config exceeds `limits`.
  static absl::StatusOr<std::shared_ptr<Session>> Restore(
      std::string id, absl::string_view payload, WorkerPool* pool,
      const SessionOptions& options = SessionOptions(),
      const ConfigLimits& limits = ConfigLimits());
  // Re-applies log record `index` as Ingest did, without writing a log and
  // without the queue bound; records at or below the batches already
  // accepted are skipped. Returns whether it was applied.
  absl::StatusOr<bool> Replay(int64_t index, int64_t sequence, absl::Span<const float> x,
                              absl::Span<const float> z);
  // From now on Ingest logs every accepted batch to `log` before returning.
  void AttachLog(std::unique_ptr<IngestLog> log);
  absl::Status SyncLog();
  int64_t batches_accepted() const;
  // Time of the last Ingest, status or estimate read (for idle eviction).
  absl::Time last_used() const;

  // Stops training, drops queued rows, refuses ingest, ends subscriptions.
  // Ingest answers `why` afterwards: NOT_FOUND "was deleted" by default;
  // UNAVAILABLE when the session moves to another replica (see
  // SessionManager), so that clients retry there.
  void Close();
  void Close(absl::Status why);
  // Why the session closed; OK while open.
  absl::Status closed_status() const;
  bool closed() const;
  bool has_subscribers() const;

  bool RunSlice() override;

 private:
  struct PendingBatch {
    std::vector<float> x;
    std::vector<float> z;
    int64_t rows;
    int64_t sequence;
  };

  Session(std::string id, SessionConfig config, WorkerPool* pool,
          SessionOptions options, absl::Time created_at);
  bool LoadState(absl::string_view payload);

  // Training-side helpers.
  int64_t ApplyRows(std::vector<PendingBatch>& batches) ABSL_EXCLUSIVE_LOCKS_REQUIRED(train_mu_);
  bool ReadyToTrain() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(train_mu_);
  bool TrainOneStep() ABSL_EXCLUSIVE_LOCKS_REQUIRED(train_mu_);
  void EvaluateAndPublish() ABSL_EXCLUSIVE_LOCKS_REQUIRED(train_mu_);
  void Recover() ABSL_EXCLUSIVE_LOCKS_REQUIRED(train_mu_);
  void MaybeRefitQuantiles() ABSL_EXCLUSIVE_LOCKS_REQUIRED(train_mu_);
  void MapWindows() ABSL_EXCLUSIVE_LOCKS_REQUIRED(train_mu_);
  void NormalizedRow(const SampleWindow& window, int64_t row, float* x_out, float* z_out) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(train_mu_);
  void NormalizeX(const float* x, float* out) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(train_mu_);
  void NormalizeZ(const float* z, float* out) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(train_mu_);
  Estimate BaseEstimate() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(train_mu_);
  void Publish(Estimate estimate) ABSL_EXCLUSIVE_LOCKS_REQUIRED(train_mu_)
      ABSL_LOCKS_EXCLUDED(mu_, listeners_mu_);

  const std::string id_;
  const SessionConfig config_;
  WorkerPool* const pool_;
  const SessionOptions options_;
  absl::Time created_at_;  // set once, before the session is shared

  mutable absl::Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  // A leaf lock, so that on_closed callbacks may read it under listeners_mu_.
  mutable absl::Mutex closed_status_mu_ ABSL_ACQUIRED_AFTER(mu_, listeners_mu_);
  absl::Status closed_status_ ABSL_GUARDED_BY(closed_status_mu_);
  std::vector<PendingBatch> pending_ ABSL_GUARDED_BY(mu_);
  int64_t pending_values_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t pending_rows_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::function<void()>> room_callbacks_ ABSL_GUARDED_BY(mu_);
  int64_t samples_seen_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t last_sequence_accepted_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time updated_at_ ABSL_GUARDED_BY(mu_);
  Estimate latest_ ABSL_GUARDED_BY(mu_);
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t batches_accepted_ ABSL_GUARDED_BY(mu_) = 0;
  std::unique_ptr<IngestLog> log_ ABSL_GUARDED_BY(mu_);
  mutable absl::Time last_used_ ABSL_GUARDED_BY(mu_);
  // Applied under mu_ as each estimate gets its version, so alerts follow
  // publication order.
  AlertEvaluator alert_evaluator_ ABSL_GUARDED_BY(mu_);
  AlertHistory alert_history_ ABSL_GUARDED_BY(mu_);
  std::atomic<int64_t> train_steps_{0};

  // Subscriptions have their own lock so that publishing never holds mu_.
  mutable absl::Mutex listeners_mu_ ABSL_ACQUIRED_AFTER(mu_);
  struct Listener {
    EstimateCallback on_estimate;
    ClosedCallback on_closed;
  };
  std::map<int64_t, Listener> listeners_ ABSL_GUARDED_BY(listeners_mu_);
  int64_t next_listener_ ABSL_GUARDED_BY(listeners_mu_) = 1;
  bool listeners_closed_ ABSL_GUARDED_BY(listeners_mu_) = false;

  // Training state: only the thread running RunSlice touches it.
  absl::Mutex train_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::unique_ptr<Trainer> trainer_ ABSL_GUARDED_BY(train_mu_);
  std::mt19937_64 rng_ ABSL_GUARDED_BY(train_mu_);
  SampleWindow train_window_ ABSL_GUARDED_BY(train_mu_);
  SampleWindow holdout_window_ ABSL_GUARDED_BY(train_mu_);
  RunningMoments x_moments_ ABSL_GUARDED_BY(train_mu_);
  RunningMoments z_moments_ ABSL_GUARDED_BY(train_mu_);
  QuantileNormalizer x_quantiles_ ABSL_GUARDED_BY(train_mu_);
  QuantileNormalizer z_quantiles_ ABSL_GUARDED_BY(train_mu_);
  int64_t rows_at_last_fit_ ABSL_GUARDED_BY(train_mu_) = 0;
  PlateauDetector plateau_ ABSL_GUARDED_BY(train_mu_);
  int64_t rows_applied_ ABSL_GUARDED_BY(train_mu_) = 0;
  int64_t last_sequence_applied_ ABSL_GUARDED_BY(train_mu_) = 0;
  int64_t rows_since_converged_ ABSL_GUARDED_BY(train_mu_) = 0;
  int steps_since_evaluation_ ABSL_GUARDED_BY(train_mu_) = 0;
  bool converged_ ABSL_GUARDED_BY(train_mu_) = false;
  bool has_evaluation_ ABSL_GUARDED_BY(train_mu_) = false;
  bool training_exhausted_ ABSL_GUARDED_BY(train_mu_) = false;
  int32_t recoveries_ ABSL_GUARDED_BY(train_mu_) = 0;
  int evaluations_since_recovery_ ABSL_GUARDED_BY(train_mu_) = 0;
  // Scratch buffers for one batch, reused across steps.
  std::vector<float> x_buf_ ABSL_GUARDED_BY(train_mu_);
  std::vector<float> z_buf_ ABSL_GUARDED_BY(train_mu_);
  std::vector<float> zm_buf_ ABSL_GUARDED_BY(train_mu_);
  std::vector<int64_t> index_buf_ ABSL_GUARDED_BY(train_mu_);
};

}  // namespace mine

#endif  // SERVER_CORE_SESSION_H_
