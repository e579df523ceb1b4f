#include "server/core/session.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/core/batch_validation.h"
#include "server/core/internal/byte_io.h"
#include "server/core/trainer.h"

namespace mine {
namespace {

constexpr double kRecoveryLearningRateFactor = 0.5;
// After this many halvings training stops; the last good estimate stays.
constexpr int kMaxRecoveries = 10;
constexpr double kZ95 = 1.959963984540054;

// Uniform integer in [0, n) from a 64-bit draw; the tiny modulo bias is
// irrelevant here and the result is the same on every platform.
int64_t Below(std::mt19937_64& rng, int64_t n) {
  return static_cast<int64_t>(rng() % static_cast<uint64_t>(n));
}

// Fisher-Yates with the session's RNG: portable, unlike std::shuffle.
void Permute(std::mt19937_64& rng, std::vector<int64_t>& order) {
  for (int64_t i = static_cast<int64_t>(order.size()) - 1; i > 0; --i) {
    std::swap(order[i], order[Below(rng, i + 1)]);
  }
}

}  // namespace

absl::StatusOr<std::shared_ptr<Session>> Session::Create(
    std::string id, const SessionConfig& requested, WorkerPool* pool,
    const SessionOptions& options, const ConfigLimits& limits) {
  absl::StatusOr<SessionConfig> config = ResolveSessionConfig(requested, id, limits);
  if (!config.ok()) return config.status();
  return std::shared_ptr<Session>(
      new Session(std::move(id), *std::move(config), pool, options, absl::Now()));
}

Session::Session(std::string id, SessionConfig config, WorkerPool* pool,
                 SessionOptions options, absl::Time created_at)
    : id_(std::move(id)),
      config_(std::move(config)),
      pool_(pool),
      options_(options),
      created_at_(created_at),
      updated_at_(created_at_),
      last_used_(absl::Now()),
      alert_evaluator_(config_.alert_rules),
      trainer_(std::make_unique<Trainer>(config_)),
      rng_(config_.seed),
      train_window_(config_.x_dim, config_.z_dim,
                    config_.window_size -
                        static_cast<int64_t>(std::lround(config_.window_size *
                                                         config_.holdout_fraction))),
      holdout_window_(config_.x_dim, config_.z_dim,
                      std::lround(config_.window_size * config_.holdout_fraction)),
      x_moments_(config_.x_dim, config_.window_size),
      z_moments_(config_.z_dim, config_.window_size),
      x_quantiles_(config_.x_dim),
      z_quantiles_(config_.z_dim),
      plateau_(options_.plateau_span) {
  latest_.estimator = config_.estimator;
  latest_.learning_rate = config_.learning_rate;
  latest_.computed_at = created_at_;
}

Session::~Session() = default;

absl::StatusOr<IngestResult> Session::Ingest(absl::Span<const float> x,
                                             absl::Span<const float> z,
                                             int64_t sequence) {
  absl::StatusOr<int64_t> rows =
      ValidateBatch(config_.x_dim, config_.z_dim, x, z, options_.max_batch_rows);
  if (!rows.ok()) return rows.status();
  if (sequence < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("sequence = ", sequence, " is negative; use 0 for none"));
  }
  IngestResult result;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return closed_status();
    last_used_ = absl::Now();
    if (sequence > 0 && sequence <= last_sequence_accepted_) {
      result.duplicate = true;
      result.samples_seen = samples_seen_;
      return result;
    }
    const int64_t values = *rows * (config_.x_dim + config_.z_dim);
    if (pending_values_ > 0 && pending_values_ + values > options_.max_pending_values) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "ingest queue of session '", id_, "' is full (", pending_rows_,
          " rows waiting for training); retry after the next estimate"));
    }
    if (log_ != nullptr) {
      // Logged before it is acknowledged: an OK reply means it survives.
      if (absl::Status s = log_->Append(batches_accepted_ + 1, sequence, x, z); !s.ok()) {
        return s;
      }
    }
    ++batches_accepted_;
    pending_.push_back(PendingBatch{std::vector<float>(x.begin(), x.end()),
                                    std::vector<float>(z.begin(), z.end()), *rows,
                                    sequence});
    pending_values_ += values;
    pending_rows_ += *rows;
    samples_seen_ += *rows;
    if (sequence > 0) last_sequence_accepted_ = sequence;
    updated_at_ = absl::Now();
    result.accepted_rows = *rows;
    result.samples_seen = samples_seen_;
  }
  if (pool_ != nullptr) pool_->Wake(shared_from_this());
  return result;
}

void Session::NotifyWhenRoom(std::function<void()> callback) {
  {
    absl::MutexLock lock(&mu_);
    if (pending_values_ > 0 && !closed_) {
      room_callbacks_.push_back(std::move(callback));
      return;
    }
  }
  callback();
}

Estimate Session::latest_estimate() const {
  absl::MutexLock lock(&mu_);
  last_used_ = absl::Now();
  return latest_;
}

SessionStatus Session::status() const {
  absl::MutexLock lock(&mu_);
  last_used_ = absl::Now();
  SessionStatus s;
  s.samples_seen = samples_seen_;
  s.train_steps = train_steps_.load();
  s.pending_rows = pending_rows_;
  s.last_sequence = last_sequence_accepted_;
  s.created_at = created_at_;
  s.updated_at = updated_at_;
  s.latest = latest_;
  s.alerts_total = alert_history_.total();
  s.threshold_firing = alert_evaluator_.threshold_firing();
  s.change_armed = alert_evaluator_.change_armed();
  s.change_reference_nats = alert_evaluator_.change_reference_nats();
  return s;
}

std::deque<AlertEvent> Session::alert_history() const {
  absl::MutexLock lock(&mu_);
  return alert_history_.events();
}

bool Session::WaitForEstimate(int64_t rows, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto reached = [this, rows]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ || latest_.samples_seen >= rows;
  };
  mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
  return latest_.samples_seen >= rows;
}

int64_t Session::Subscribe(EstimateCallback on_estimate, ClosedCallback on_closed) {
  {
    absl::MutexLock lock(&listeners_mu_);
    if (!listeners_closed_) {
      const int64_t handle = next_listener_++;
      listeners_[handle] = Listener{std::move(on_estimate), std::move(on_closed)};
      return handle;
    }
  }
  on_closed();
  return 0;
}

void Session::Unsubscribe(int64_t subscription) {
  absl::MutexLock lock(&listeners_mu_);
  listeners_.erase(subscription);
}

void Session::Close() {
  Close(absl::NotFoundError(absl::StrCat("session '", id_, "' was deleted")));
}

absl::Status Session::closed_status() const {
  absl::MutexLock lock(&closed_status_mu_);
  return closed_status_;
}

void Session::Close(absl::Status why) {
  std::vector<std::function<void()>> room;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    closed_ = true;
    {
      absl::MutexLock status_lock(&closed_status_mu_);
      closed_status_ = std::move(why);
    }
    pending_.clear();
    pending_values_ = 0;
    pending_rows_ = 0;
    room.swap(room_callbacks_);
  }
  for (auto& callback : room) callback();
  absl::MutexLock lock(&listeners_mu_);
  listeners_closed_ = true;
  for (auto& [handle, listener] : listeners_) listener.on_closed();
  listeners_.clear();
}

bool Session::has_subscribers() const {
  absl::MutexLock lock(&listeners_mu_);
  return !listeners_.empty();
}

bool Session::closed() const {
  absl::MutexLock lock(&mu_);
  return closed_;
}

bool Session::RunSlice() {
  absl::MutexLock train_lock(&train_mu_);
  std::vector<PendingBatch> batches;
  std::vector<std::function<void()>> room;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return false;
    batches.swap(pending_);
    pending_values_ = 0;
    pending_rows_ = 0;
    room.swap(room_callbacks_);
  }
  for (auto& callback : room) callback();

  const int64_t applied = ApplyRows(batches);
  if (applied > 0 && converged_) {
    rows_since_converged_ += applied;
    const int64_t reopen = options_.reopen_rows > 0 ? options_.reopen_rows : config_.batch_size;
    if (rows_since_converged_ >= reopen) {
      converged_ = false;
      plateau_.Reopen();
    }
  }
  if (!ReadyToTrain()) {
    if (applied > 0) Publish(BaseEstimate());  // still warming up, but counts move
    return false;
  }
  MaybeRefitQuantiles();
  bool evaluation_due = applied > 0 || !has_evaluation_;
  if (!converged_ && !training_exhausted_) {
    const absl::Time start = absl::Now();
    const absl::Time deadline = start + options_.max_slice_duration;
    int steps = 0;
    while (steps_since_evaluation_ < options_.steps_per_slice) {
      if (!TrainOneStep()) {
        Recover();
        break;
      }
      ++steps_since_evaluation_;
      ++steps;
      if (absl::Now() >= deadline) break;
    }
    evaluation_due |= steps_since_evaluation_ >= options_.steps_per_slice;
    if (options_.observer != nullptr) {
      options_.observer->OnTrainingSlice(steps, absl::Now() - start);
    }
  }
  if (evaluation_due) {
    steps_since_evaluation_ = 0;
    EvaluateAndPublish();
  }
  return !converged_ && !training_exhausted_;
}

int64_t Session::ApplyRows(std::vector<PendingBatch>& batches) {
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  int64_t applied = 0;
  for (const PendingBatch& batch : batches) {
    for (int64_t r = 0; r < batch.rows; ++r) {
      const float* x = &batch.x[r * config_.x_dim];
      const float* z = &batch.z[r * config_.z_dim];
      x_moments_.Add(x);
      z_moments_.Add(z);
      SampleWindow& window =
          uniform(rng_) < config_.holdout_fraction ? holdout_window_ : train_window_;
      window.Append(x, z);
    }
    applied += batch.rows;
    if (batch.sequence > 0) last_sequence_applied_ = batch.sequence;
  }
  rows_applied_ += applied;
  return applied;
}

bool Session::ReadyToTrain() const {
  return train_window_.size() >= config_.batch_size &&
         holdout_window_.size() >= options_.min_holdout_rows;
}

// Refits the quantile maps as the window fills (each time the rows seen have
// doubled) and then every quarter window, from a sample of training rows.
void Session::MaybeRefitQuantiles() {
  if (config_.input_normalization != InputNormalization::kQuantile) return;
  const int64_t due = std::min<int64_t>(2 * rows_at_last_fit_,
                                        rows_at_last_fit_ + config_.window_size / 4);
  if (x_quantiles_.fitted() && rows_applied_ < due) return;
  const int64_t n = std::min<int64_t>(train_window_.size(), x_quantiles_.references());
  std::vector<const float*> x_rows, z_rows;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t row = n == train_window_.size() ? i : Below(rng_, train_window_.size());
    x_rows.push_back(train_window_.x_row(row));
    z_rows.push_back(train_window_.z_row(row));
  }
  x_quantiles_.Fit(x_rows);
  z_quantiles_.Fit(z_rows);
  rows_at_last_fit_ = rows_applied_;
  MapWindows();
}

// Keeps quantile-normalised copies of both windows (see SampleWindow::SetMap),
// so a training step copies rows instead of normalising every value.
void Session::MapWindows() {
  if (config_.input_normalization != InputNormalization::kQuantile || !x_quantiles_.fitted()) {
    return;
  }
  for (SampleWindow* window : {&train_window_, &holdout_window_}) {
    if (window->mapped()) {
      window->Remap();
    } else {
      window->SetMap([this](const float* x, const float* z, float* x_out, float* z_out) {
        train_mu_.AssertHeld();  // windows are only touched on the training side
        x_quantiles_.Normalize(x, x_out);
        z_quantiles_.Normalize(z, z_out);
      });
    }
  }
}

void Session::NormalizedRow(const SampleWindow& window, int64_t row, float* x_out,
                            float* z_out) const {
  if (window.mapped()) {
    std::copy_n(window.mapped_x_row(row), config_.x_dim, x_out);
    std::copy_n(window.mapped_z_row(row), config_.z_dim, z_out);
    return;
  }
  NormalizeX(window.x_row(row), x_out);
  NormalizeZ(window.z_row(row), z_out);
}

void Session::NormalizeX(const float* x, float* out) const {
  if (config_.input_normalization == InputNormalization::kQuantile) {
    x_quantiles_.Normalize(x, out);
  } else {
    x_moments_.Standardize(x, out);
  }
}

void Session::NormalizeZ(const float* z, float* out) const {
  if (config_.input_normalization == InputNormalization::kQuantile) {
    z_quantiles_.Normalize(z, out);
  } else {
    z_moments_.Standardize(z, out);
  }
}

bool Session::TrainOneStep() {
  const int64_t b = config_.batch_size;
  const int dx = config_.x_dim;
  const int dz = config_.z_dim;
  x_buf_.resize(b * dx);
  z_buf_.resize(b * dz);
  zm_buf_.resize(b * dz);
  for (int64_t i = 0; i < b; ++i) {
    const int64_t row = Below(rng_, train_window_.size());
    NormalizedRow(train_window_, row, &x_buf_[i * dx], &z_buf_[i * dz]);
  }
  if (config_.marginal_sampling == MarginalSampling::kWindow) {
    for (int64_t i = 0; i < b; ++i) {
      const int64_t row = Below(rng_, train_window_.size());
      if (train_window_.mapped()) {
        std::copy_n(train_window_.mapped_z_row(row), dz, &zm_buf_[i * dz]);
      } else {
        NormalizeZ(train_window_.z_row(row), &zm_buf_[i * dz]);
      }
    }
  } else {
    index_buf_.resize(b);
    for (int64_t i = 0; i < b; ++i) index_buf_[i] = i;
    Permute(rng_, index_buf_);
    for (int64_t i = 0; i < b; ++i) {
      std::copy_n(&z_buf_[index_buf_[i] * dz], dz, &zm_buf_[i * dz]);
    }
  }
  const bool ok = trainer_->Step(TrainingRows{x_buf_.data(), z_buf_.data(), zm_buf_.data(), b});
  if (ok) train_steps_.fetch_add(1);
  return ok;
}

void Session::EvaluateAndPublish() {
  int64_t n = std::min(holdout_window_.size(), options_.max_evaluation_rows);
  if (config_.estimator == EstimatorKind::kInfoNce) {
    n = std::min<int64_t>(n, int64_t{options_.max_evaluation_chunks} * config_.batch_size);
  }
  const int64_t first = holdout_window_.size() - n;  // the newest rows
  const int dx = config_.x_dim;
  const int dz = config_.z_dim;
  std::vector<float> x(n * dx), z(n * dz), zm(n * dz);
  for (int64_t i = 0; i < n; ++i) {
    NormalizedRow(holdout_window_, first + i, &x[i * dx], &z[i * dz]);
  }
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  Permute(rng_, order);
  for (int64_t i = 0; i < n; ++i) std::copy_n(&z[order[i] * dz], dz, &zm[i * dz]);

  std::optional<BoundValue> value =
      trainer_->Evaluate(TrainingRows{x.data(), z.data(), zm.data(), n});
  if (!value.has_value()) {
    Recover();
    Estimate e = latest_estimate();
    e.state = EstimateState::kDivergedRecovered;
    e.divergence_recoveries = recoveries_;
    e.learning_rate = trainer_->learning_rate();
    e.samples_seen = rows_applied_;
    e.last_sequence = last_sequence_applied_;
    e.train_steps = train_steps_.load();
    Publish(e);
    return;
  }
  trainer_->MarkGood();
  plateau_.Add(value->value);
  has_evaluation_ = true;
  ++evaluations_since_recovery_;
  const bool was_converged = converged_;
  converged_ = plateau_.Plateaued(value->std_error);
  if (converged_ && !was_converged) rows_since_converged_ = 0;

  Estimate e = BaseEstimate();
  // A negative held-out bound means no dependence was detected: MI >= 0.
  const double mi = plateau_.Smoothed();
  e.mi_nats = std::max(mi, 0.0);
  e.std_error_nats = value->std_error;
  e.ci_low_nats = std::max(mi - kZ95 * value->std_error, 0.0);
  e.ci_high_nats = std::max(mi + kZ95 * value->std_error, 0.0);
  e.cap_nats = value->cap;
  e.evaluation_rows = value->rows;
  Publish(e);
}

void Session::Recover() {
  ++recoveries_;
  evaluations_since_recovery_ = 0;
  plateau_.Clear();
  converged_ = false;
  trainer_->RollBack(kRecoveryLearningRateFactor);
  if (recoveries_ >= kMaxRecoveries) training_exhausted_ = true;
}

Estimate Session::BaseEstimate() const {
  Estimate e;
  e.estimator = config_.estimator;
  e.samples_seen = rows_applied_;
  e.train_steps = train_steps_.load();
  e.last_sequence = last_sequence_applied_;
  e.divergence_recoveries = recoveries_;
  e.learning_rate = trainer_->learning_rate();
  if (!has_evaluation_) {
    e.state = EstimateState::kWarmingUp;
  } else if (recoveries_ > 0 && (evaluations_since_recovery_ < options_.plateau_span ||
                                 training_exhausted_)) {
    e.state = EstimateState::kDivergedRecovered;
  } else {
    e.state = converged_ ? EstimateState::kConverged : EstimateState::kTraining;
  }
  return e;
}

void Session::Publish(Estimate estimate) {
  estimate.computed_at = absl::Now();
  {
    absl::MutexLock lock(&mu_);
    estimate.version = ++version_;
    estimate.alerts = alert_evaluator_.Observe(estimate);
    for (const AlertEvent& alert : estimate.alerts) alert_history_.Add(alert);
    latest_ = estimate;
  }
  if (options_.observer != nullptr) {
    for (const AlertEvent& alert : estimate.alerts) options_.observer->OnAlert(id_, alert);
  }
  absl::MutexLock lock(&listeners_mu_);
  for (auto& [handle, listener] : listeners_) listener.on_estimate(estimate);
}

// ---- Persistence -----------------------------------------------------------

namespace {

// Bumped with any change to what Snapshot writes; Restore reads every
// version back to 1. Version 2 added the alert rules (after the config) and
// the alert evaluator and history (at the end).
constexpr uint32_t kSessionStateVersion = 2;
constexpr uint32_t kOldestSessionStateVersion = 1;

void SaveConfig(const SessionConfig& c, internal::ByteWriter* w) {
  w->I64(c.x_dim);
  w->I64(c.z_dim);
  w->I64(static_cast<int64_t>(c.estimator));
  w->U64(c.hidden_units.size());
  for (int units : c.hidden_units) w->I64(units);
  w->I64(static_cast<int64_t>(c.activation));
  w->F64(c.learning_rate);
  w->I64(c.batch_size);
  w->F64(c.ema_rate);
  w->I64(c.window_size);
  w->F64(c.holdout_fraction);
  w->U64(c.seed);
  w->F64(c.smile_clip);
  w->I64(static_cast<int64_t>(c.marginal_sampling));
  w->I64(static_cast<int64_t>(c.input_normalization));
  const AlertRules& a = c.alert_rules;
  w->Bool(a.threshold_enabled);
  w->I64(static_cast<int64_t>(a.direction));
  w->F64(a.threshold_nats);
  w->F64(a.hysteresis_nats);
  w->F64(a.change_k);
  w->I64(a.reference_estimates);
}

template <typename Enum>
bool ReadEnum(internal::ByteReader* r, Enum* out) {
  int v;
  if (!r->Int(&v)) return false;
  *out = static_cast<Enum>(v);
  return true;
}

// Version 1 has no alert rules: they stay off.
bool LoadConfig(internal::ByteReader* r, uint32_t version, SessionConfig* c) {
  uint64_t layers;
  if (!r->Int(&c->x_dim) || !r->Int(&c->z_dim) || !ReadEnum(r, &c->estimator) ||
      !r->U64(&layers) || layers > 64) {
    return false;
  }
  c->hidden_units.resize(layers);
  for (int& units : c->hidden_units) {
    if (!r->Int(&units)) return false;
  }
  const bool ok = ReadEnum(r, &c->activation) && r->F64(&c->learning_rate) &&
                  r->Int(&c->batch_size) && r->F64(&c->ema_rate) && r->Int(&c->window_size) &&
                  r->F64(&c->holdout_fraction) && r->U64(&c->seed) && r->F64(&c->smile_clip) &&
                  ReadEnum(r, &c->marginal_sampling) && ReadEnum(r, &c->input_normalization);
  if (!ok || version < 2) return ok;
  AlertRules& a = c->alert_rules;
  return r->Bool(&a.threshold_enabled) && ReadEnum(r, &a.direction) &&
         r->F64(&a.threshold_nats) && r->F64(&a.hysteresis_nats) && r->F64(&a.change_k) &&
         r->Int(&a.reference_estimates);
}

bool KnownStateVersion(uint32_t version) {
  return version >= kOldestSessionStateVersion && version <= kSessionStateVersion;
}

void SaveEstimate(const Estimate& e, internal::ByteWriter* w) {
  w->F64(e.mi_nats);
  w->F64(e.std_error_nats);
  w->F64(e.ci_low_nats);
  w->F64(e.ci_high_nats);
  w->F64(e.cap_nats);
  w->I64(e.samples_seen);
  w->I64(e.train_steps);
  w->I64(e.last_sequence);
  w->I64(e.evaluation_rows);
  w->I64(e.divergence_recoveries);
  w->F64(e.learning_rate);
  w->I64(static_cast<int64_t>(e.estimator));
  w->I64(static_cast<int64_t>(e.state));
  w->I64(absl::ToUnixNanos(e.computed_at));
  w->U64(e.version);
}

bool LoadEstimate(internal::ByteReader* r, Estimate* e) {
  int64_t computed_at;
  int recoveries;
  const bool ok = r->F64(&e->mi_nats) && r->F64(&e->std_error_nats) &&
                  r->F64(&e->ci_low_nats) && r->F64(&e->ci_high_nats) &&
                  r->F64(&e->cap_nats) && r->I64(&e->samples_seen) &&
                  r->I64(&e->train_steps) && r->I64(&e->last_sequence) &&
                  r->I64(&e->evaluation_rows) && r->Int(&recoveries) &&
                  r->F64(&e->learning_rate) && ReadEnum(r, &e->estimator) &&
                  ReadEnum(r, &e->state) && r->I64(&computed_at) && r->U64(&e->version);
  if (!ok) return false;
  e->divergence_recoveries = recoveries;
  e->computed_at = absl::FromUnixNanos(computed_at);
  return true;
}

}  // namespace

absl::StatusOr<SessionSnapshot> Session::Snapshot() {
  absl::MutexLock train_lock(&train_mu_);
  absl::MutexLock lock(&mu_);
  if (closed_) {
    return absl::FailedPreconditionError(absl::StrCat("session '", id_, "' was deleted"));
  }
  internal::ByteWriter w;
  w.U32(kSessionStateVersion);
  SaveConfig(config_, &w);
  w.I64(absl::ToUnixNanos(created_at_));
  w.I64(absl::ToUnixNanos(updated_at_));
  w.I64(samples_seen_);
  w.I64(last_sequence_accepted_);
  w.I64(batches_accepted_);
  w.U64(version_);
  SaveEstimate(latest_, &w);
  w.U64(pending_.size());
  for (const PendingBatch& batch : pending_) {
    w.I64(batch.sequence);
    w.Floats(batch.x.data(), static_cast<int64_t>(batch.x.size()));
    w.Floats(batch.z.data(), static_cast<int64_t>(batch.z.size()));
  }
  w.I64(train_steps_.load());
  std::ostringstream rng;
  rng << rng_;
  w.Str(rng.str());
  train_window_.SaveTo(&w);
  holdout_window_.SaveTo(&w);
  x_moments_.SaveTo(&w);
  z_moments_.SaveTo(&w);
  x_quantiles_.SaveTo(&w);
  z_quantiles_.SaveTo(&w);
  w.I64(rows_at_last_fit_);
  plateau_.SaveTo(&w);
  w.I64(rows_applied_);
  w.I64(last_sequence_applied_);
  w.I64(rows_since_converged_);
  w.Bool(converged_);
  w.Bool(has_evaluation_);
  w.Bool(training_exhausted_);
  w.I64(recoveries_);
  w.I64(evaluations_since_recovery_);
  trainer_->SaveTo(&w);
  alert_evaluator_.SaveTo(&w);
  alert_history_.SaveTo(&w);
  if (log_ != nullptr) {
    if (absl::Status s = log_->Rotate(batches_accepted_ + 1); !s.ok()) return s;
  }
  return SessionSnapshot{std::move(w.bytes()), batches_accepted_};
}

absl::StatusOr<std::shared_ptr<Session>> Session::Restore(
    std::string id, absl::string_view payload, WorkerPool* pool,
    const SessionOptions& options, const ConfigLimits& limits) {
  internal::ByteReader r(payload);
  uint32_t version;
  SessionConfig stored;
  int64_t created_at;
  if (!r.U32(&version) || !KnownStateVersion(version) || !LoadConfig(&r, version, &stored) ||
      !r.I64(&created_at)) {
    return absl::DataLossError(
        absl::StrCat("state of session '", id, "' has an unreadable header"));
  }
  absl::StatusOr<SessionConfig> config = ResolveSessionConfig(stored, id, limits);
  if (!config.ok()) return config.status();
  if (*config != stored) {
    return absl::DataLossError(
        absl::StrCat("state of session '", id, "' holds a config that does not resolve to itself"));
  }
  std::shared_ptr<Session> session(new Session(std::move(id), *std::move(config), pool, options,
                                               absl::FromUnixNanos(created_at)));
  if (!session->LoadState(payload)) {
    return absl::DataLossError(
        absl::StrCat("state of session '", session->id(), "' is malformed"));
  }
  // Queued batches and unfinished training continue on the pool.
  if (pool != nullptr) pool->Wake(session);
  return session;
}

bool Session::LoadState(absl::string_view payload) {
  absl::MutexLock train_lock(&train_mu_);
  absl::MutexLock lock(&mu_);
  internal::ByteReader r(payload);
  uint32_t version;
  SessionConfig ignored;
  int64_t created_at, updated_at, train_steps;
  uint64_t pending;
  std::string rng;
  if (!r.U32(&version) || !LoadConfig(&r, version, &ignored) || !r.I64(&created_at) ||
      !r.I64(&updated_at) || !r.I64(&samples_seen_) || !r.I64(&last_sequence_accepted_) ||
      !r.I64(&batches_accepted_) || !r.U64(&version_) || !LoadEstimate(&r, &latest_) ||
      !r.U64(&pending) || pending > payload.size()) {
    return false;
  }
  updated_at_ = absl::FromUnixNanos(updated_at);
  for (uint64_t i = 0; i < pending; ++i) {
    PendingBatch batch;
    if (!r.I64(&batch.sequence) || !r.Floats(&batch.x) || !r.Floats(&batch.z) ||
        batch.x.size() % config_.x_dim != 0 ||
        batch.z.size() / config_.z_dim != batch.x.size() / config_.x_dim ||
        batch.z.size() % config_.z_dim != 0) {
      return false;
    }
    batch.rows = static_cast<int64_t>(batch.x.size()) / config_.x_dim;
    pending_values_ += batch.rows * (config_.x_dim + config_.z_dim);
    pending_rows_ += batch.rows;
    pending_.push_back(std::move(batch));
  }
  if (!r.I64(&train_steps) || !r.Str(&rng)) return false;
  train_steps_.store(train_steps);
  std::istringstream rng_in(rng);
  rng_in >> rng_;
  if (rng_in.fail()) return false;
  int recoveries;
  const bool ok =
      train_window_.LoadFrom(&r) && holdout_window_.LoadFrom(&r) && x_moments_.LoadFrom(&r) &&
      z_moments_.LoadFrom(&r) && x_quantiles_.LoadFrom(&r) && z_quantiles_.LoadFrom(&r) &&
      r.I64(&rows_at_last_fit_) && plateau_.LoadFrom(&r) && r.I64(&rows_applied_) &&
      r.I64(&last_sequence_applied_) && r.I64(&rows_since_converged_) && r.Bool(&converged_) &&
      r.Bool(&has_evaluation_) && r.Bool(&training_exhausted_) && r.Int(&recoveries) &&
      r.Int(&evaluations_since_recovery_) && trainer_->LoadFrom(&r) &&
      (version < 2 || (alert_evaluator_.LoadFrom(&r) && alert_history_.LoadFrom(&r))) &&
      r.done();
  recoveries_ = recoveries;
  if (ok) MapWindows();
  return ok;
}

absl::StatusOr<bool> Session::Replay(int64_t index, int64_t sequence, absl::Span<const float> x,
                                     absl::Span<const float> z) {
  // No row cap: the batch was accepted under the limits of its time, and a
  // lower --max_batch_rows now must not drop acknowledged rows.
  absl::StatusOr<int64_t> rows = ValidateBatch(config_.x_dim, config_.z_dim, x, z,
                                               std::numeric_limits<int64_t>::max());
  if (!rows.ok()) return rows.status();
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return absl::NotFoundError(absl::StrCat("session '", id_, "' was deleted"));
    if (index <= batches_accepted_) return false;
    batches_accepted_ = index;
    pending_.push_back(PendingBatch{std::vector<float>(x.begin(), x.end()),
                                    std::vector<float>(z.begin(), z.end()), *rows, sequence});
    pending_values_ += *rows * (config_.x_dim + config_.z_dim);
    pending_rows_ += *rows;
    samples_seen_ += *rows;
    if (sequence > 0) last_sequence_accepted_ = std::max(last_sequence_accepted_, sequence);
  }
  if (pool_ != nullptr) pool_->Wake(shared_from_this());
  return true;
}

void Session::AttachLog(std::unique_ptr<IngestLog> log) {
  absl::MutexLock lock(&mu_);
  log_ = std::move(log);
}

absl::Status Session::SyncLog() {
  absl::MutexLock lock(&mu_);
  return log_ == nullptr ? absl::OkStatus() : log_->Sync();
}

int64_t Session::batches_accepted() const {
  absl::MutexLock lock(&mu_);
  return batches_accepted_;
}

absl::Time Session::last_used() const {
  absl::MutexLock lock(&mu_);
  return last_used_;
}

}  // namespace mine
