#include "server/service/session_reaper.h"

#include <algorithm>
#include <set>
#include <vector>

namespace mine {

SessionReaper::SessionReaper(SessionManager* manager, absl::Duration ttl)
    : manager_(manager), ttl_(ttl) {}

SessionReaper::~SessionReaper() { Stop(); }

void SessionReaper::Start() {
  if (ttl_ <= absl::ZeroDuration() || thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void SessionReaper::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void SessionReaper::Touch(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  activity_[std::string(id)].last_touch = absl::Now();
}

void SessionReaper::StreamOpened(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  Activity& a = activity_[std::string(id)];
  ++a.open_streams;
  a.last_touch = absl::Now();
}

void SessionReaper::StreamClosed(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  Activity& a = activity_[std::string(id)];
  a.open_streams = std::max(0, a.open_streams - 1);
  a.last_touch = absl::Now();
}

int SessionReaper::ReapIdle(absl::Time now) {
  if (ttl_ <= absl::ZeroDuration()) return 0;
  std::vector<std::string> idle;
  std::set<std::string, std::less<>> live;
  std::string token;
  do {
    absl::StatusOr<SessionManager::Page> page =
        manager_->List(SessionManager::kMaxPageSize, token, /*loaded_only=*/true);
    if (!page.ok()) break;
    for (const std::shared_ptr<Session>& session : page->sessions) {
      live.insert(session->id());
      absl::Time last = session->status().updated_at;
      {
        absl::MutexLock lock(&mu_);
        if (auto it = activity_.find(session->id()); it != activity_.end()) {
          if (it->second.open_streams > 0) continue;
          last = std::max(last, it->second.last_touch);
        }
      }
      if (now - last >= ttl_) idle.push_back(session->id());
    }
    token = page->next_page_token;
  } while (!token.empty());
  // Sessions evicted to disk (--idle_evict_s) expire without being loaded.
  for (const auto& [id, last_used] : manager_->EvictedSessions()) {
    live.insert(id);
    if (now - last_used >= ttl_) idle.push_back(id);
  }

  int deleted = 0;
  for (const std::string& id : idle) {
    if (manager_->Delete(id).ok()) ++deleted;
  }
  // Forget activity of sessions that are gone (deleted by anyone).
  absl::MutexLock lock(&mu_);
  for (auto it = activity_.begin(); it != activity_.end();) {
    const bool gone = live.count(it->first) == 0 ||
                      std::find(idle.begin(), idle.end(), it->first) != idle.end();
    it = gone && it->second.open_streams == 0 ? activity_.erase(it) : std::next(it);
  }
  return deleted;
}

void SessionReaper::Loop() {
  const absl::Duration period =
      std::clamp(ttl_ / 10, absl::Milliseconds(100), absl::Seconds(10));
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping), period)) return;
    }
    ReapIdle(absl::Now());
  }
}

}  // namespace mine
