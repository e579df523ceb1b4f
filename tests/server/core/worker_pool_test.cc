#include "server/core/worker_pool.h"

#include <atomic>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace mine {
namespace {

// Runs `slices` slices, appending its name to a shared log each time.
class LoggingTask : public WorkerPool::Task {
 public:
  LoggingTask(char name, int slices, std::string* log, absl::Mutex* mu)
      : name_(name), remaining_(slices), log_(log), mu_(mu) {}

  bool RunSlice() override {
    const int inside = ++inside_;
    EXPECT_EQ(inside, 1) << "task ran on two threads at once";
    absl::SleepFor(absl::Microseconds(200));
    {
      absl::MutexLock lock(mu_);
      log_->push_back(name_);
    }
    --inside_;
    if (--remaining_ == 0) done_.Notify();
    return remaining_ > 0;
  }

  void WaitDone() { ASSERT_TRUE(done_.WaitForNotificationWithTimeout(absl::Seconds(30))); }

 private:
  char name_;
  std::atomic<int> remaining_;
  std::atomic<int> inside_{0};
  std::string* log_;
  absl::Mutex* mu_;
  absl::Notification done_;
};

TEST(WorkerPoolTest, RunsATaskUntilItReportsDone) {
  absl::Mutex mu;
  std::string log;
  auto task = std::make_shared<LoggingTask>('a', 5, &log, &mu);
  WorkerPool pool(2);
  pool.Wake(task);
  task->WaitDone();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(log, "aaaaa");
}

TEST(WorkerPoolTest, ServesRunnableTasksRoundRobin) {
  absl::Mutex mu;
  std::string log;
  auto a = std::make_shared<LoggingTask>('a', 20, &log, &mu);
  auto b = std::make_shared<LoggingTask>('b', 20, &log, &mu);
  auto c = std::make_shared<LoggingTask>('c', 20, &log, &mu);
  WorkerPool pool(1);
  pool.Wake(a);
  pool.Wake(b);
  pool.Wake(c);
  a->WaitDone();
  b->WaitDone();
  c->WaitDone();
  absl::MutexLock lock(&mu);
  ASSERT_EQ(log.size(), 60u);
  // Once all three are queued, no task gets two slices while another waits.
  const size_t settled = log.find('c') + 1;
  for (size_t i = settled; i + 1 < 57; ++i) {
    EXPECT_NE(log[i], log[i + 1]) << "at " << i << " in " << log;
  }
}

TEST(WorkerPoolTest, NeverRunsOneTaskOnTwoThreadsAtOnce) {
  absl::Mutex mu;
  std::string log;
  auto task = std::make_shared<LoggingTask>('a', 200, &log, &mu);
  WorkerPool pool(2);
  std::thread waker([&] {
    for (int i = 0; i < 2000; ++i) pool.Wake(task);
  });
  pool.Wake(task);
  task->WaitDone();
  waker.join();
}

// Returns false every time, but wakes itself during its first slice.
class SelfWakingTask : public WorkerPool::Task {
 public:
  explicit SelfWakingTask(WorkerPool* pool) : pool_(pool) {}
  std::shared_ptr<SelfWakingTask> self;
  std::atomic<int> runs{0};
  absl::Notification second_run;

  bool RunSlice() override {
    if (++runs == 1) pool_->Wake(self);
    else second_run.Notify();
    return false;
  }

 private:
  WorkerPool* pool_;
};

TEST(WorkerPoolTest, AWakeDuringASliceRunsTheTaskAgain) {
  WorkerPool pool(1);
  auto task = std::make_shared<SelfWakingTask>(&pool);
  task->self = task;
  pool.Wake(task);
  EXPECT_TRUE(task->second_run.WaitForNotificationWithTimeout(absl::Seconds(30)));
  task->self.reset();
}

TEST(WorkerPoolTest, AvailableCpusIsPositive) { EXPECT_GE(AvailableCpus(), 1); }

}  // namespace
}  // namespace mine
