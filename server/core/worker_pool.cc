#include "server/core/worker_pool.h"

#include <sched.h>

#include <algorithm>

namespace mine {

WorkerPool::WorkerPool(int threads) {
  for (int i = 0; i < std::max(threads, 1); ++i) {
    threads_.emplace_back([this] { WorkLoop(); });
  }
}

WorkerPool::~WorkerPool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : threads_) t.join();
  absl::MutexLock lock(&mu_);
  for (auto& task : queue_) task->state_ = Task::State::kIdle;
  queue_.clear();
}

void WorkerPool::Wake(std::shared_ptr<Task> task) {
  absl::MutexLock lock(&mu_);
  switch (task->state_) {
    case Task::State::kIdle:
      task->state_ = Task::State::kQueued;
      queue_.push_back(std::move(task));
      break;
    case Task::State::kRunning:
      task->woken_while_running_ = true;
      break;
    case Task::State::kQueued:
      break;
  }
}

int WorkerPool::queue_depth() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(queue_.size());
}

bool WorkerPool::HasWorkOrStopping() const {
  return stopping_ || !queue_.empty();
}

void WorkerPool::WorkLoop() {
  for (;;) {
    std::shared_ptr<Task> task;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &WorkerPool::HasWorkOrStopping));
      if (stopping_) return;
      task = std::move(queue_.front());
      queue_.pop_front();
      task->state_ = Task::State::kRunning;
      task->woken_while_running_ = false;
    }
    const bool more = task->RunSlice();
    absl::MutexLock lock(&mu_);
    if ((more || task->woken_while_running_) && !stopping_) {
      task->state_ = Task::State::kQueued;
      queue_.push_back(std::move(task));
    } else {
      task->state_ = Task::State::kIdle;
    }
  }
}

int AvailableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    return std::max(CPU_COUNT(&set), 1);
  }
  return std::max(static_cast<int>(std::thread::hardware_concurrency()), 1);
}

}  // namespace mine
