#ifndef SERVER_CORE_WORKER_POOL_H_
#define SERVER_CORE_WORKER_POOL_H_

#include <deque>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace mine {

// A fixed set of threads that run tasks in time slices, round-robin: a task
// that wants more time goes to the back of the queue, so no runnable task
// starves. A task is queued at most once and run by at most one thread at a
// time. Thread-safe.
//
//   WorkerPool pool(2);
//   pool.Wake(task);   // task->RunSlice() runs on a worker until it returns false
class WorkerPool {
 public:
  class Task {
   public:
    virtual ~Task() = default;
    // Does a bounded amount of work; returns true to be run again.
    virtual bool RunSlice() = 0;

   private:
    friend class WorkerPool;
    enum class State { kIdle, kQueued, kRunning };
    State state_ = State::kIdle;  // guarded by the owning pool's mu_
    bool woken_while_running_ = false;
  };

  explicit WorkerPool(int threads);
  ~WorkerPool();  // finishes running slices, drops queued tasks, joins
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Makes `task` runnable. If it is running now, it runs again afterwards.
  void Wake(std::shared_ptr<Task> task);

  int threads() const { return static_cast<int>(threads_.size()); }
  int queue_depth() const;

 private:
  void WorkLoop();
  bool HasWorkOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::deque<std::shared_ptr<Task>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

// The CPUs this process may run on (its affinity mask), at least 1.
int AvailableCpus();

}  // namespace mine

#endif  // SERVER_CORE_WORKER_POOL_H_
