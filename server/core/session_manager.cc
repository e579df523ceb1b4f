#include "server/core/session_manager.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/core/session_store.h"
#include "server/core/torch_runtime.h"

namespace mine {
namespace {

constexpr size_t kMaxIdLength = 128;

bool IsIdChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
         c == '-';
}

// At most 32 printable characters of an untrusted id, for error messages.
std::string Excerpt(absl::string_view id) {
  std::string out;
  for (char c : id.substr(0, 32)) out.push_back(IsIdChar(c) ? c : '?');
  if (id.size() > 32) out += "...";
  return out;
}

}  // namespace

absl::Status ValidateSessionId(absl::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError("session_id is empty");
  if (id.size() > kMaxIdLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "session_id is ", id.size(), " characters long; at most ", kMaxIdLength,
        " are allowed"));
  }
  for (size_t i = 0; i < id.size(); ++i) {
    if (!IsIdChar(id[i])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "session_id '", Excerpt(id), "' has a character outside [A-Za-z0-9._-] at position ",
          i));
    }
  }
  return absl::OkStatus();
}

SessionManager::SessionManager(const SessionManagerOptions& options)
    : options_(options),
      pool_((InitTorchRuntime(), options.workers > 0 ? options.workers : AvailableCpus())),
      id_rng_(std::random_device{}()) {}

SessionManager::~SessionManager() {
  StopCheckpointing();
  if (store_ != nullptr) {
    if (absl::Status s = CheckpointAll(); !s.ok()) {
      std::fprintf(stderr, "state: final checkpoint incomplete: %s\n", s.ToString().c_str());
    }
  }
  if (leases_ != nullptr) {
    // Renewals stop only now, so that the final checkpoint ran under valid
    // leases; giving them back lets other replicas take over at once.
    leases_->Stop();
    leases_->GiveAll();
  }
  std::map<std::string, std::shared_ptr<Session>, std::less<>> sessions;
  {
    absl::MutexLock lock(&mu_);
    sessions.swap(sessions_);
  }
  // Outside the lock: closing runs watchers' callbacks.
  for (auto& [id, session] : sessions) session->Close();
}

std::string SessionManager::GenerateId() {
  for (;;) {
    std::string id = absl::StrFormat("s-%016x", id_rng_());
    if (sessions_.find(id) == sessions_.end()) return id;
  }
}

absl::StatusOr<std::shared_ptr<Session>> SessionManager::Create(
    absl::string_view requested_id, const SessionConfig& config) {
  if (!requested_id.empty()) {
    if (absl::Status s = ValidateSessionId(requested_id); !s.ok()) return s;
    // A session exists on disk: load it, so that the checks below see it.
    if (shared()) {
      bool loaded;
      {
        absl::MutexLock lock(&mu_);
        loaded = sessions_.find(requested_id) != sessions_.end();
      }
      if (!loaded && store_->HasCheckpoint(requested_id)) {
        if (absl::StatusOr<std::shared_ptr<Session>> s = Adopt(requested_id); !s.ok()) {
          return s.status();
        }
      }
    } else if (IsEvicted(requested_id)) {
      if (absl::StatusOr<std::shared_ptr<Session>> s = Reload(requested_id); !s.ok()) {
        return s.status();
      }
    }
  }
  absl::MutexLock lock(&mu_);
  std::string id = requested_id.empty() ? GenerateId() : std::string(requested_id);
  if (auto it = sessions_.find(id); it != sessions_.end()) {
    absl::StatusOr<SessionConfig> wanted = ResolveSessionConfig(config, id, options_.limits);
    if (!wanted.ok()) return wanted.status();
    if (*wanted != it->second->config()) {
      return absl::AlreadyExistsError(absl::StrCat(
          "session '", id, "' exists with a different config (",
          DescribeConfig(it->second->config()), ")"));
    }
    return it->second;
  }
  if (static_cast<int>(sessions_.size()) >= options_.max_sessions) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the server holds its limit of ", options_.max_sessions,
        " sessions; delete one first"));
  }
  absl::StatusOr<std::shared_ptr<Session>> session =
      Session::Create(id, config, &pool_, options_.session, options_.limits);
  if (!session.ok()) return session.status();
  const int64_t values = ReservedValues((*session)->config());
  if (reserved_values_ + values > options_.max_total_values) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the server's sessions may already hold ", reserved_values_, " of its ",
        options_.max_total_values, " values; a window of ", values,
        " more does not fit: use a smaller window_size or delete a session"));
  }
  if (absl::Status s = Persist(*session); !s.ok()) return s;
  reserved_values_ += values;
  sessions_.emplace(id, *session);
  return session;
}

absl::StatusOr<std::shared_ptr<Session>> SessionManager::Get(absl::string_view id) {
  if (absl::Status s = ValidateSessionId(id); !s.ok()) return s;
  {
    absl::MutexLock lock(&mu_);
    auto it = sessions_.find(id);
    if (it != sessions_.end()) return it->second;
    if (!shared() && evicted_.find(id) == evicted_.end()) {
      return absl::NotFoundError(absl::StrCat("session '", id, "' does not exist"));
    }
  }
  return shared() ? Adopt(id) : Reload(id);
}

bool SessionManager::IsEvicted(absl::string_view id) const {
  absl::MutexLock lock(&mu_);
  return evicted_.find(id) != evicted_.end();
}

absl::StatusOr<std::shared_ptr<Session>> SessionManager::Reload(absl::string_view id) {
  absl::MutexLock reload(&reload_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (auto it = sessions_.find(id); it != sessions_.end()) return it->second;
    auto evicted = evicted_.find(id);
    if (evicted == evicted_.end()) {
      return absl::NotFoundError(absl::StrCat("session '", id, "' does not exist"));
    }
    evicted_.erase(evicted);
  }
  if (absl::Status s = RestoreSession(std::string(id)); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("session '", id, "' could not be loaded from ",
                                               store_->dir(), ": ", s.message()));
  }
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) {
    return absl::NotFoundError(absl::StrCat("session '", id, "' does not exist"));
  }
  return it->second;
}

std::vector<std::pair<std::string, absl::Time>> SessionManager::EvictedSessions() const {
  if (leases_ != nullptr) return UnheldSessions();
  absl::MutexLock lock(&mu_);
  return {evicted_.begin(), evicted_.end()};
}

int SessionManager::EvictIdle(absl::Duration idle) {
  if (store_ == nullptr || idle <= absl::ZeroDuration()) return 0;
  const absl::Time now = absl::Now();
  std::vector<std::shared_ptr<Session>> candidates;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, session] : sessions_) {
      // use_count 1: no stream, call or worker holds it.
      if (session.use_count() == 1 && now - session->last_used() >= idle &&
          !session->has_subscribers()) {
        candidates.push_back(session);
      }
    }
  }
  int evicted = 0;
  for (std::shared_ptr<Session>& session : candidates) {
    if (!Checkpoint(session, /*force=*/false).ok()) continue;  // stays in memory
    absl::MutexLock reload(&reload_mu_);
    {
      absl::MutexLock lock(&mu_);
      auto it = sessions_.find(session->id());
      // Still ours alone (the map and `session`), and unchanged since the checkpoint.
      if (it == sessions_.end() || it->second != session || session.use_count() != 2) continue;
      {
        absl::MutexLock persist(&persist_mu_);
        auto mark = checkpointed_.find(session->id());
        if (mark == checkpointed_.end() ||
            mark->second != std::make_pair(session->batches_accepted(),
                                           session->status().train_steps)) {
          continue;
        }
      }
      // Shared: the files are the record of evicted sessions.
      if (!shared()) evicted_[session->id()] = session->last_used();
      sessions_.erase(it);
      reserved_values_ -= ReservedValues(session->config());
    }
    session->Close();
    if (shared()) leases_->Give(session->id());
    session.reset();  // closes its log
    ++evicted;
  }
  if (evicted > 0 && observer() != nullptr) observer()->OnSessionsEvicted(evicted);
  return evicted;
}

absl::StatusOr<SessionManager::Page> SessionManager::List(
    int page_size, absl::string_view page_token, bool loaded_only) {
  if (page_size < 0 || page_size > kMaxPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size = ", page_size, " is out of range: 0..", kMaxPageSize));
  }
  if (!page_token.empty()) {
    if (absl::Status s = ValidateSessionId(page_token); !s.ok()) {
      return absl::InvalidArgumentError("page_token is not one this server issued");
    }
  }
  const int size = page_size == 0 ? kDefaultPageSize : page_size;
  if (shared() && !loaded_only) return ListShared(size, page_token);
  // Ids of the page, loaded and evicted merged in order.
  std::vector<std::string> ids;
  bool more = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = page_token.empty() ? sessions_.begin() : sessions_.upper_bound(page_token);
    auto ev = page_token.empty() ? evicted_.begin() : evicted_.upper_bound(page_token);
    if (loaded_only) ev = evicted_.end();
    while (it != sessions_.end() || ev != evicted_.end()) {
      const bool take_loaded =
          ev == evicted_.end() || (it != sessions_.end() && it->first < ev->first);
      if (static_cast<int>(ids.size()) == size) {
        more = true;
        break;
      }
      ids.push_back(take_loaded ? (it++)->first : (ev++)->first);
    }
  }
  Page page;
  for (const std::string& id : ids) {
    absl::StatusOr<std::shared_ptr<Session>> session = Get(id);
    if (session.ok()) page.sessions.push_back(*std::move(session));
  }
  if (more && !ids.empty()) page.next_page_token = ids.back();
  return page;
}

absl::Status SessionManager::Delete(absl::string_view id) {
  if (absl::Status s = ValidateSessionId(id); !s.ok()) return s;
  if (shared()) return DeleteShared(id);
  std::shared_ptr<Session> session;
  {
    absl::MutexLock lock(&mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) {
      auto evicted = evicted_.find(id);
      if (evicted == evicted_.end()) {
        return absl::NotFoundError(absl::StrCat("session '", id, "' does not exist"));
      }
      evicted_.erase(evicted);
      absl::MutexLock persist(&persist_mu_);
      checkpointed_.erase(std::string(id));
      if (absl::Status s = store_->Remove(id); !s.ok()) {
        std::fprintf(stderr, "state: %s\n", s.ToString().c_str());
      }
      return absl::OkStatus();
    }
    session = std::move(it->second);
    sessions_.erase(it);
    reserved_values_ -= ReservedValues(session->config());
  }
  session->Close();
  if (store_ != nullptr) {
    absl::MutexLock lock(&persist_mu_);
    checkpointed_.erase(session->id());
    if (absl::Status s = store_->Remove(session->id()); !s.ok()) {
      std::fprintf(stderr, "state: %s\n", s.ToString().c_str());
    }
  }
  return absl::OkStatus();
}

int64_t SessionManager::ReservedValues(const SessionConfig& config) const {
  // A quantile-normalised window also keeps a normalised copy of its rows.
  const int copies = config.input_normalization == InputNormalization::kQuantile ? 2 : 1;
  return copies * int64_t{config.window_size} * (int64_t{config.x_dim} + config.z_dim) +
         options_.session.max_pending_values;
}

// ---- Persistence -----------------------------------------------------------

absl::Status SessionManager::Persist(const std::shared_ptr<Session>& session) {
  if (store_ == nullptr) return absl::OkStatus();
  absl::Status s = store_->CreateSession(session->id());
  if (s.ok() && shared()) {
    // Another replica holding the id (creating it too) is not ours to remove.
    if (absl::StatusOr<std::shared_ptr<LeaseGuard>> taken = TakeNewSession(session->id());
        !taken.ok()) {
      return taken.status();
    }
  }
  if (s.ok()) s = Checkpoint(session, /*force=*/true);
  absl::StatusOr<std::unique_ptr<SampleLog>> log;
  if (s.ok()) {
    log = store_->OpenLog(session->id(), session->batches_accepted() + 1);
    s = log.status();
  }
  if (!s.ok()) {
    absl::MutexLock lock(&persist_mu_);
    store_->Remove(session->id()).IgnoreError();
    checkpointed_.erase(session->id());
    if (shared()) leases_->Forget(session->id());
    std::fprintf(stderr, "state: session '%s' not created: %s\n", session->id().c_str(),
                 s.ToString().c_str());
    return absl::Status(s.code(), absl::StrCat("state dir ", store_->dir(), ": ", s.message()));
  }
  session->AttachLog(Guarded(*std::move(log), session->id()));
  return absl::OkStatus();
}

absl::Status SessionManager::Checkpoint(const std::shared_ptr<Session>& session, bool force) {
  absl::MutexLock lock(&persist_mu_);
  const SessionStatus status = session->status();
  const std::pair<int64_t, int64_t> mark(session->batches_accepted(), status.train_steps);
  auto it = checkpointed_.find(session->id());
  if (!force && it != checkpointed_.end() && it->second == mark) return absl::OkStatus();
  const absl::Time start = absl::Now();
  absl::StatusOr<SessionSnapshot> snapshot = session->Snapshot();
  // Shared state dir: checked again after the snapshot, right before writing,
  // so that a lease that ran out meanwhile stops the write.
  absl::Status saved = snapshot.status();
  if (saved.ok()) saved = MayWrite(session->id());
  if (saved.ok()) saved = store_->SaveCheckpoint(session->id(), *snapshot);
  // A session deleted meanwhile has nothing left to save: not a failure.
  if (!saved.ok() && session->closed()) return absl::OkStatus();
  if (observer() != nullptr) observer()->OnCheckpoint(session->id(), saved.ok(), absl::Now() - start);
  if (!saved.ok()) return saved;
  checkpointed_[session->id()] = mark;
  return absl::OkStatus();
}

absl::Status SessionManager::CheckpointAll() {
  if (store_ == nullptr) return absl::OkStatus();
  std::vector<std::shared_ptr<Session>> sessions;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, session] : sessions_) sessions.push_back(session);
  }
  absl::Status first;
  for (const std::shared_ptr<Session>& session : sessions) {
    absl::Status s = Checkpoint(session, /*force=*/false);
    if (!s.ok()) {
      std::fprintf(stderr, "state: checkpoint of session '%s' failed: %s\n",
                   session->id().c_str(), s.ToString().c_str());
      first.Update(s);
    }
    // fsync=interval: bound the window of loss of idle sessions too.
    if (absl::Status synced = session->SyncLog(); !synced.ok()) first.Update(synced);
  }
  return first;
}

absl::Status SessionManager::RestoreSession(const std::string& id) {
  absl::StatusOr<StoredSession> stored = store_->Load(id);
  if (!stored.ok()) return stored.status();
  absl::StatusOr<std::shared_ptr<Session>> session =
      Session::Restore(id, stored->checkpoint, &pool_, options_.session, options_.limits);
  if (!session.ok()) {
    // A config beyond this server's limits (e.g. a lower --max_dim) is not
    // damage: leave the files for a server that accepts it.
    if (session.status().code() == absl::StatusCode::kDataLoss) {
      store_->Quarantine(id, absl::StrCat(store_->dir(), "/sessions/", id),
                         absl::StrCat("cannot be restored: ", session.status().message()));
    }
    return session.status();
  }
  if ((*session)->batches_accepted() != stored->batches_covered) {
    store_->Quarantine(id, absl::StrCat(store_->dir(), "/sessions/", id),
                       "checkpoint header and state disagree");
    return absl::DataLossError("checkpoint header and state disagree");
  }
  for (const LogRecord& record : stored->records) {
    absl::StatusOr<bool> applied = (*session)->Replay(record.index, record.sequence, record.x,
                                                      record.z);
    if (!applied.ok()) {
      std::fprintf(stderr, "state: session '%s': log record %lld not replayed: %s\n",
                   id.c_str(), static_cast<long long>(record.index),
                   applied.status().ToString().c_str());
      break;
    }
  }
  absl::StatusOr<std::unique_ptr<SampleLog>> log =
      store_->OpenLog(id, (*session)->batches_accepted() + 1);
  if (!log.ok()) return log.status();
  (*session)->AttachLog(Guarded(*std::move(log), id));
  {
    absl::MutexLock lock(&mu_);
    reserved_values_ += ReservedValues((*session)->config());
    sessions_.emplace(id, *session);
  }
  // A fresh checkpoint covers the replayed records and removes old segments;
  // without one (disk full) the log still holds them.
  if (absl::Status s = Checkpoint(*session, /*force=*/true); !s.ok()) {
    std::fprintf(stderr, "state: session '%s' restored, but not re-checkpointed: %s\n",
                 id.c_str(), s.ToString().c_str());
  }
  return absl::OkStatus();
}

absl::Status SessionManager::RestoreState(const RestoreProgress& progress) {
  const PersistenceOptions& p = options_.persistence;
  if (p.state_dir.empty()) return absl::OkStatus();
  absl::StatusOr<std::unique_ptr<SessionStore>> store =
      SessionStore::Open(p.state_dir, p.fsync, p.fsync_interval);
  if (!store.ok()) return store.status();
  store_ = *std::move(store);
  if (p.shared) {
    if (absl::Status s = OpenShared(); !s.ok()) return s;
  }
  int restored = 0, failed = 0;
  // Shared state dir: nothing is restored eagerly, sessions load on first use.
  const std::vector<std::string> ids = shared() ? std::vector<std::string>() : store_->SessionIds();
  const int total = static_cast<int>(ids.size());
  if (progress) progress(0, total);
  for (const std::string& id : ids) {
    if (absl::Status s = RestoreSession(id); s.ok()) {
      ++restored;
    } else {
      ++failed;
      std::fprintf(stderr, "state: session '%s' not restored: %s\n", id.c_str(),
                   s.ToString().c_str());
    }
    if (progress) progress(restored + failed, total);
  }
  if (!shared()) {
    std::fprintf(
        stderr, "state: %d sessions restored from %s%s\n", restored, store_->dir().c_str(),
        failed > 0 ? absl::StrCat(" (", failed, " not restored, see above)").c_str() : "");
  }
  if (p.checkpoint_interval > absl::ZeroDuration() || p.idle_evict > absl::ZeroDuration() ||
      (p.fsync == FsyncPolicy::kInterval && p.fsync_interval > absl::ZeroDuration())) {
    checkpoint_thread_ = std::thread([this] { CheckpointLoop(); });
  }
  return absl::OkStatus();
}

void SessionManager::CheckpointLoop() {
  const PersistenceOptions& p = options_.persistence;
  absl::Duration tick = absl::InfiniteDuration();
  for (absl::Duration d : {p.checkpoint_interval, p.idle_evict / 4,
                           p.fsync == FsyncPolicy::kInterval ? p.fsync_interval
                                                             : absl::ZeroDuration()}) {
    if (d > absl::ZeroDuration()) tick = std::min(tick, d);
  }
  tick = std::max(tick, absl::Milliseconds(10));
  absl::Time next_checkpoint = absl::Now() + p.checkpoint_interval;
  while (!stop_checkpoints_.WaitForNotificationWithTimeout(tick)) {
    EvictIdle(p.idle_evict);
    if (p.checkpoint_interval > absl::ZeroDuration() && absl::Now() >= next_checkpoint) {
      CheckpointAll().IgnoreError();  // failures are logged; the next round retries
      next_checkpoint = absl::Now() + p.checkpoint_interval;
      continue;
    }
    std::vector<std::shared_ptr<Session>> sessions;
    {
      absl::MutexLock lock(&mu_);
      for (const auto& [id, session] : sessions_) sessions.push_back(session);
    }
    for (const auto& session : sessions) session->SyncLog().IgnoreError();
  }
}

void SessionManager::StopCheckpointing() {
  if (!stop_checkpoints_.HasBeenNotified()) stop_checkpoints_.Notify();
  if (checkpoint_thread_.joinable()) checkpoint_thread_.join();
}

int SessionManager::session_count() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(sessions_.size());
}

}  // namespace mine
