#include "server/core/lease_keeper.h"

#include <algorithm>
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
  Held& held = held_[std::string(id)];
  if (held.guard != nullptr) held.guard->Lose("");  // an older incarnation stops writing
  held = Held{lease->epoch, guard};
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

std::vector<LeaseKeeper::Move> LeaseKeeper::Renew() {
  std::map<std::string, Held, std::less<>> held;
  {
    absl::MutexLock lock(&mu_);
    held = held_;
  }
  std::vector<Move> moves;
  for (const auto& [id, h] : held) {
    if (!StillHeld(id, h.epoch)) continue;  // given back meanwhile
    const absl::Time started = store_->Now();
    absl::StatusOr<Lease> lease = store_->Renew(id, h.epoch);
    if (lease.ok() && lease->HeldBy(store_->replica_id()) && lease->epoch == h.epoch) {
      // A guard whose deadline passed before this renewal never writes
      // again: drop the session so the next call loads it afresh (a new
      // epoch) instead of refusing its batches for as long as we renew.
      if (h.guard->lost()) {
        moves.push_back({false, id, "", h.epoch});
        continue;
      }
      h.guard->Extend(started + usable());
      if (!lease->requested_by.empty() && lease->requested_by != store_->replica_id()) {
        moves.push_back({true, id, lease->requested_by, h.epoch});
      }
      continue;
    }
    if (lease.ok() || absl::IsNotFound(lease.status())) {
      const std::string owner = lease.ok() ? lease->owner : "";
      h.guard->Lose(owner);
      moves.push_back({false, id, owner, h.epoch});
      continue;
    }
    // An I/O error: try again next round; the guard's deadline decides
    // meanwhile whether the session may still write.
    std::fprintf(stderr, "state: lease of session '%s' not renewed: %s\n", id.c_str(),
                 lease.status().ToString().c_str());
    if (h.guard->lost()) moves.push_back({false, id, "", h.epoch});
  }
  return moves;
}

void LeaseKeeper::Run(const Move& move) {
  if (!StillHeld(move.id, move.epoch)) return;
  const auto& callback = move.hand_off ? callbacks_.hand_off : callbacks_.lost;
  if (callback) {
    callback(move.id, move.other);
  } else if (!move.hand_off) {
    Forget(move.id);
  }
}

void LeaseKeeper::RenewAll() {
  for (const Move& move : Renew()) Run(move);
}

void LeaseKeeper::Start(Callbacks callbacks) {
  if (thread_.joinable()) return;
  callbacks_ = std::move(callbacks);
  thread_ = std::thread([this] { Loop(); });
  move_thread_ = std::thread([this] { MoveLoop(); });
}

void LeaseKeeper::Loop() {
  const absl::Duration period = std::max(store_->ttl() / 3, absl::Milliseconds(10));
  while (!stop_.WaitForNotificationWithTimeout(period)) {
    std::vector<Move> moves = Renew();
    absl::MutexLock lock(&moves_mu_);
    for (Move& move : moves) {
      // A handoff already waiting for the same lease is not queued twice.
      const bool queued = std::any_of(moves_.begin(), moves_.end(), [&](const Move& m) {
        return m.id == move.id && m.epoch == move.epoch && m.hand_off == move.hand_off;
      });
      if (!queued) moves_.push_back(std::move(move));
    }
  }
}

void LeaseKeeper::MoveLoop() {
  for (;;) {
    Move move;
    {
      absl::MutexLock lock(&moves_mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(moves_mu_) {
        return stopping_ || !moves_.empty();
      };
      moves_mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      move = moves_.front();
      moves_.erase(moves_.begin());
    }
    Run(move);
  }
}

void LeaseKeeper::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
  {
    absl::MutexLock lock(&moves_mu_);
    stopping_ = true;
  }
  if (move_thread_.joinable()) move_thread_.join();
}

}  // namespace mine
