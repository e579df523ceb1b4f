#include "server/service/scheduler.h"

namespace mine {

Scheduler::Scheduler() : thread_([this] { Loop(); }) {}

Scheduler::~Scheduler() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

Scheduler::TaskId Scheduler::RunAt(absl::Time when, std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  const TaskId id = next_id_++;
  tasks_.emplace(std::make_pair(when, id), std::move(task));
  due_.emplace(id, when);
  return id;
}

void Scheduler::Cancel(TaskId id) {
  absl::MutexLock lock(&mu_);
  if (auto it = due_.find(id); it != due_.end()) {
    tasks_.erase(std::make_pair(it->second, id));
    due_.erase(it);
  }
  if (std::this_thread::get_id() == thread_.get_id() || running_ == 0) return;
  const uint64_t run = runs_;
  auto finished = [this, run]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return runs_ != run; };
  mu_.Await(absl::Condition(&finished));
}

void Scheduler::Loop() {
  absl::MutexLock lock(&mu_);
  for (;;) {
    if (stopping_) return;
    const absl::Time now = absl::Now();
    if (tasks_.empty() || tasks_.begin()->first.first > now) {
      // Wake on a new task, a stop, or when the first task is due.
      const absl::Time deadline =
          tasks_.empty() ? absl::InfiniteFuture() : tasks_.begin()->first.first;
      const size_t seen = tasks_.size();
      const TaskId first = tasks_.empty() ? 0 : tasks_.begin()->first.second;
      auto changed = [this, seen, first]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || tasks_.size() != seen ||
               (!tasks_.empty() && tasks_.begin()->first.second != first);
      };
      mu_.AwaitWithDeadline(absl::Condition(&changed), deadline);
      continue;
    }
    auto it = tasks_.begin();
    const TaskId id = it->first.second;
    std::function<void()> task = std::move(it->second);
    tasks_.erase(it);
    due_.erase(id);
    running_ = id;
    mu_.Unlock();
    task();
    mu_.Lock();
    running_ = 0;
    ++runs_;
  }
}

}  // namespace mine
