#ifndef SERVER_SERVICE_SCHEDULER_H_
#define SERVER_SERVICE_SCHEDULER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace mine {

// One thread that runs short callbacks at given times: the service's timers
// (e.g. pacing WatchEstimates), so that no gRPC thread ever sleeps.
// Thread-safe.
//
//   Scheduler scheduler;
//   Scheduler::TaskId id = scheduler.RunAt(absl::Now() + absl::Milliseconds(50), fn);
//   scheduler.Cancel(id);  // fn is not running and never will
class Scheduler {
 public:
  using TaskId = int64_t;  // never 0

  Scheduler();
  ~Scheduler();  // drops pending tasks, joins the thread
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Runs `task` on the scheduler's thread at `when` or soon after. Tasks
  // must not block; they may call RunAt and Cancel.
  TaskId RunAt(absl::Time when, std::function<void()> task);

  // Drops the task if it has not started, then waits until whatever task is
  // running now has returned, so afterwards neither `id` nor any task that
  // ran before the call is running. Id 0 (or a finished id) only waits. From
  // inside a task it does not wait.
  void Cancel(TaskId id);

 private:
  void Loop();

  absl::Mutex mu_;
  std::map<std::pair<absl::Time, TaskId>, std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  std::map<TaskId, absl::Time> due_ ABSL_GUARDED_BY(mu_);
  TaskId next_id_ ABSL_GUARDED_BY(mu_) = 1;
  TaskId running_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t runs_ ABSL_GUARDED_BY(mu_) = 0;  // tasks finished so far
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace mine

#endif  // SERVER_SERVICE_SCHEDULER_H_
