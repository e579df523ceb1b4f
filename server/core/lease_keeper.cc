#include "server/core/lease_keeper.h"

#include <cstdio>
#include <utility>

namespace mine {

LeaseKeeper::LeaseKeeper(std::unique_ptr<LeaseStore> store) : store_(std::move(store)) {}

LeaseKeeper::~LeaseKeeper() { Stop(); }

absl::Duration LeaseKeeper::usable() const { return store_->ttl() * 3 / 4; }

absl::StatusOr<std::shared_ptr<LeaseGuard>> LeaseKeeper::Take(absl::string_view id) {
  const absl::Time started = store_->Now();
  absl::StatusOr<Lease> lease = store_->Acquire(id);
  if (!lease.ok()) return lease.status();
  auto guard = std::make_shared<LeaseGuard>(std::string(id), started + usable(),
                                            [store = store_.get()] { return store->Now(); });
  absl::MutexLock lock(&mu_);
  held_[std::string(id)] = Held{lease->epoch, guard};
  return guard;
}

std::shared_ptr<LeaseGuard> LeaseKeeper::Guard(absl::string_view id) const {
  absl::MutexLock lock(&mu_);
  auto it = held_.find(id);
  return it == held_.end() ? nullptr : it->second.guard;
}

void LeaseKeeper::Give(absl::string_view id) {
  int64_t epoch;
  {
    absl::MutexLock lock(&mu_);
    auto it = held_.find(id);
    if (it == held_.end()) return;
    epoch = it->second.epoch;
    it->second.guard->Lose("");
    held_.erase(it);
  }
  if (absl::Status s = store_->Release(id, epoch); !s.ok() && !absl::IsNotFound(s)) {
    // Not fatal: the lease expires by itself after the ttl.
    std::fprintf(stderr, "state: lease of session '%s' not released: %s\n",
                 std::string(id).c_str(), s.ToString().c_str());
  }
}

void LeaseKeeper::Forget(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  auto it = held_.find(id);
  if (it == held_.end()) return;
  it->second.guard->Lose("");
  held_.erase(it);
}

void LeaseKeeper::GiveAll() {
  std::vector<std::string> ids;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, held] : held_) ids.push_back(id);
  }
  for (const std::string& id : ids) Give(id);
}

bool LeaseKeeper::StillHeld(const std::string& id, int64_t epoch) const {
  absl::MutexLock lock(&mu_);
  auto it = held_.find(id);
  return it != held_.end() && it->second.epoch == epoch;
}

void LeaseKeeper::RenewAll() {
  std::map<std::string, Held, std::less<>> held;
  {
    absl::MutexLock lock(&mu_);
    held = held_;
  }
  std::vector<std::pair<std::string, std::string>> hand_off, lost;
  for (const auto& [id, h] : held) {
    if (!StillHeld(id, h.epoch)) continue;  // given back meanwhile
    const absl::Time started = store_->Now();
    absl::StatusOr<Lease> lease = store_->Renew(id, h.epoch);
    if (lease.ok() && lease->HeldBy(store_->replica_id()) && lease->epoch == h.epoch) {
      h.guard->Extend(started + usable());
      if (!lease->requested_by.empty() && lease->requested_by != store_->replica_id()) {
        hand_off.emplace_back(id, lease->requested_by);
      }
      continue;
    }
    if (lease.ok() || absl::IsNotFound(lease.status())) {
      const std::string owner = lease.ok() ? lease->owner : "";
      h.guard->Lose(owner);
      lost.emplace_back(id, owner);
      continue;
    }
    // An I/O error: try again next round; the guard's deadline decides
    // meanwhile whether the session may still write.
    std::fprintf(stderr, "state: lease of session '%s' not renewed: %s\n", id.c_str(),
                 lease.status().ToString().c_str());
    if (h.guard->lost()) lost.emplace_back(id, "");
  }
  for (const auto& [id, to] : hand_off) {
    if (callbacks_.hand_off && StillHeld(id, held[id].epoch)) callbacks_.hand_off(id, to);
  }
  for (const auto& [id, owner] : lost) {
    if (!StillHeld(id, held[id].epoch)) continue;
    if (callbacks_.lost) {
      callbacks_.lost(id, owner);
    } else {
      Forget(id);
    }
  }
}

void LeaseKeeper::Start(Callbacks callbacks) {
  if (thread_.joinable()) return;
  callbacks_ = std::move(callbacks);
  thread_ = std::thread([this] { Loop(); });
}

void LeaseKeeper::Loop() {
  const absl::Duration period = std::max(store_->ttl() / 3, absl::Milliseconds(10));
  while (!stop_.WaitForNotificationWithTimeout(period)) RenewAll();
}

void LeaseKeeper::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

}  // namespace mine
