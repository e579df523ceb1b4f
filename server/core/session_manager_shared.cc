// SessionManager on a state directory shared by several replicas (README
// "Scale-out and failover"): sessions load on first use under a lease, are
// handed over when another replica asks for them, and are dropped without a
// write when their lease was lost.

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "server/core/leased_log.h"
#include "server/core/session_manager.h"
#include "server/core/session_store.h"

namespace mine {
namespace {

absl::Status Moved(absl::string_view id, absl::string_view to) {
  return absl::UnavailableError(absl::StrCat(
      "session '", id, "' moved to ", to.empty() ? "another replica" : absl::StrCat("replica ", to),
      "; retry"));
}

}  // namespace

absl::Status SessionManager::OpenShared() {
  const PersistenceOptions& p = options_.persistence;
  // "-" is what a lease file writes for "nobody".
  if (p.replica_id.empty() || p.replica_id == "-" || !ValidateSessionId(p.replica_id).ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a shared state dir needs a replica id of 1 to 128 characters [A-Za-z0-9._-], got '",
        p.replica_id.substr(0, 32), "' (and not '-')"));
  }
  if (p.lease_ttl < absl::Milliseconds(100)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "lease ttl ", absl::FormatDuration(p.lease_ttl), " is too short: at least 100ms"));
  }
  LeaseClock clock = p.clock ? p.clock : LeaseClock([] { return absl::Now(); });
  leases_ = std::make_unique<LeaseKeeper>(std::make_unique<LeaseStore>(
      absl::StrCat(store_->dir(), "/sessions"), p.replica_id, p.lease_ttl, std::move(clock)));
  LeaseKeeper::Callbacks callbacks;
  callbacks.hand_off = [this](const std::string& id, const std::string& to) { HandOff(id, to); };
  callbacks.lost = [this](const std::string& id, const std::string& owner) {
    DropLost(id, owner);
  };
  leases_->Start(std::move(callbacks));
  std::fprintf(stderr,
               "state: %s shared as replica %s: sessions load on first use under a lease "
               "(ttl %s)\n",
               store_->dir().c_str(), p.replica_id.c_str(),
               absl::FormatDuration(p.lease_ttl).c_str());
  return absl::OkStatus();
}

std::unique_ptr<IngestLog> SessionManager::Guarded(std::unique_ptr<IngestLog> log,
                                                   absl::string_view id) {
  if (!shared()) return log;
  return std::make_unique<LeasedLog>(std::move(log), leases_->Guard(id));
}

absl::Status SessionManager::MayWrite(absl::string_view id) const {
  if (!shared()) return absl::OkStatus();
  std::shared_ptr<LeaseGuard> guard = leases_->Guard(id);
  if (guard == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("session '", id, "': this replica does not hold its lease"));
  }
  return guard->MayWrite();
}

absl::StatusOr<std::shared_ptr<LeaseGuard>> SessionManager::TakeNewSession(absl::string_view id) {
  absl::StatusOr<std::shared_ptr<LeaseGuard>> guard = leases_->Take(id);
  if (!guard.ok()) return guard.status();
  if (store_->HasCheckpoint(id)) {
    // Created by another replica since Create looked: compare configs there.
    leases_->Give(id);
    return absl::UnavailableError(
        absl::StrCat("session '", id, "' was just created by another replica; retry"));
  }
  return guard;
}

absl::StatusOr<std::shared_ptr<Session>> SessionManager::Adopt(absl::string_view id) {
  absl::MutexLock reload(&reload_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (auto it = sessions_.find(id); it != sessions_.end()) return it->second;
  }
  auto missing = [&] {
    return absl::NotFoundError(absl::StrCat("session '", id, "' does not exist"));
  };
  if (!store_->HasCheckpoint(id)) return missing();
  absl::StatusOr<std::shared_ptr<LeaseGuard>> guard = leases_->Take(id);
  if (!guard.ok()) return absl::IsNotFound(guard.status()) ? missing() : guard.status();
  if (!store_->HasCheckpoint(id)) {  // deleted while we took the lease
    leases_->Forget(id);
    return missing();
  }
  if (absl::Status s = RestoreSession(std::string(id)); !s.ok()) {
    leases_->Give(id);
    return absl::Status(s.code(), absl::StrCat("session '", id, "' could not be loaded from ",
                                               store_->dir(), ": ", s.message()));
  }
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return missing();
  return it->second;
}

std::shared_ptr<Session> SessionManager::Unload(absl::string_view id) {
  std::shared_ptr<Session> session;
  {
    absl::MutexLock lock(&mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return nullptr;
    session = std::move(it->second);
    sessions_.erase(it);
    reserved_values_ -= ReservedValues(session->config());
  }
  absl::MutexLock persist(&persist_mu_);
  checkpointed_.erase(std::string(id));
  return session;
}

void SessionManager::HandOff(const std::string& id, const std::string& to) {
  absl::MutexLock reload(&reload_mu_);
  std::shared_ptr<Session> session;
  {
    absl::MutexLock lock(&mu_);
    if (auto it = sessions_.find(id); it != sessions_.end()) session = it->second;
  }
  if (session == nullptr) {
    leases_->Give(id);
    return;
  }
  // Refuse batches first; an append already under way finishes before the
  // checkpoint, which needs the session's lock.
  if (std::shared_ptr<LeaseGuard> guard = leases_->Guard(id)) guard->BeginHandoff(to);
  // Without a checkpoint the next owner replays the log: slower, not lossy.
  const absl::Status saved = Checkpoint(session, /*force=*/true);
  Unload(id);
  session->Close(Moved(id, to));
  leases_->Give(id);
  std::fprintf(stderr, "state: session '%s' handed over to replica %s%s\n", id.c_str(),
               to.c_str(),
               saved.ok() ? "" : absl::StrCat(" without a final checkpoint (", saved.message(),
                                              ")").c_str());
}

void SessionManager::DropLost(const std::string& id, const std::string& owner) {
  absl::MutexLock reload(&reload_mu_);
  leases_->Forget(id);
  std::shared_ptr<Session> session = Unload(id);
  if (session == nullptr) return;
  // Nothing is written: the new owner's files are not ours to touch.
  session->Close(Moved(id, owner));
  std::fprintf(stderr, "state: session '%s' dropped: its lease is held by %s now\n", id.c_str(),
               owner.empty() ? "no one (expired or deleted)" : absl::StrCat("replica ", owner).c_str());
}

absl::StatusOr<SessionManager::Page> SessionManager::ListShared(int size,
                                                                absl::string_view page_token) {
  std::vector<std::string> ids = store_->SessionIds();
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, session] : sessions_) ids.push_back(id);  // created, dir not listed yet
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  Page page;
  // Each copy holds a whole session (network, windows) until the page is
  // answered, so a page restores only a few; the rest come on the next.
  constexpr int kMaxCopiesPerPage = 16;
  int copies = 0;
  auto it = page_token.empty() ? ids.begin() : std::upper_bound(ids.begin(), ids.end(), page_token);
  for (; it != ids.end(); ++it) {
    if (static_cast<int>(page.sessions.size()) == size) {
      page.next_page_token = page.sessions.back()->id();
      break;
    }
    std::shared_ptr<Session> session;
    {
      absl::MutexLock lock(&mu_);
      if (auto loaded = sessions_.find(*it); loaded != sessions_.end()) session = loaded->second;
    }
    if (session == nullptr && copies >= kMaxCopiesPerPage && !page.sessions.empty()) {
      page.next_page_token = page.sessions.back()->id();
      break;
    }
    if (session == nullptr) {
      // Another replica's (or nobody's): a copy of its last checkpoint, so
      // listing never takes a lease. Deleted or unreadable: left out.
      ++copies;
      absl::StatusOr<StoredSession> stored = store_->ReadCheckpoint(*it);
      if (!stored.ok()) continue;
      absl::StatusOr<std::shared_ptr<Session>> copy = Session::Restore(
          *it, stored->checkpoint, /*pool=*/nullptr, options_.session, options_.limits);
      if (!copy.ok()) continue;
      session = *std::move(copy);
    }
    page.sessions.push_back(std::move(session));
  }
  return page;
}

absl::Status SessionManager::DeleteShared(absl::string_view id) {
  // Deleting needs the lease, like training: Get takes it (or answers
  // UNAVAILABLE / NOT_FOUND) and loads the session, which is then closed.
  absl::StatusOr<std::shared_ptr<Session>> held = Get(id);
  if (!held.ok()) return held.status();
  absl::MutexLock reload(&reload_mu_);
  if (absl::Status s = MayWrite(id); !s.ok()) return s;  // moving or lost meanwhile
  std::shared_ptr<Session> session = Unload(id);
  if (session == nullptr) {
    // Handed over between Get and here: it lives on another replica.
    if (store_->HasCheckpoint(id)) return Moved(id, "");
    return absl::NotFoundError(absl::StrCat("session '", id, "' does not exist"));
  }
  session->Close();
  {
    absl::MutexLock lock(&persist_mu_);
    if (absl::Status s = store_->Remove(id); !s.ok()) {
      std::fprintf(stderr, "state: %s\n", s.ToString().c_str());
    }
  }
  leases_->Forget(id);  // its file went with the directory
  return absl::OkStatus();
}

std::vector<std::pair<std::string, absl::Time>> SessionManager::UnheldSessions() const {
  std::vector<std::pair<std::string, absl::Time>> unheld;
  const absl::Time now = leases_->store().Now();
  for (const std::string& id : store_->SessionIds()) {
    {
      absl::MutexLock lock(&mu_);
      if (sessions_.find(id) != sessions_.end()) continue;
    }
    absl::StatusOr<Lease> lease = leases_->store().Read(id);
    if (!lease.ok() || (!lease->owner.empty() && lease->expires > now)) continue;
    unheld.emplace_back(id, store_->LastWritten(id));
  }
  return unheld;
}

}  // namespace mine
