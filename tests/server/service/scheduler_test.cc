#include "server/service/scheduler.h"

#include <atomic>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace mine {
namespace {

TEST(SchedulerTest, RunsTasksInDueOrder) {
  Scheduler scheduler;
  absl::Mutex mu;
  std::vector<int> order;
  absl::Notification done;
  const absl::Time now = absl::Now();
  scheduler.RunAt(now + absl::Milliseconds(30), [&] {
    absl::MutexLock lock(&mu);
    order.push_back(3);
    done.Notify();
  });
  scheduler.RunAt(now + absl::Milliseconds(10), [&] {
    absl::MutexLock lock(&mu);
    order.push_back(2);
  });
  scheduler.RunAt(now - absl::Seconds(1), [&] {
    absl::MutexLock lock(&mu);
    order.push_back(1);
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(SchedulerTest, CancelledTasksNeverRun) {
  Scheduler scheduler;
  std::atomic<int> runs{0};
  const Scheduler::TaskId id =
      scheduler.RunAt(absl::Now() + absl::Milliseconds(50), [&] { ++runs; });
  scheduler.Cancel(id);
  absl::Notification later;
  scheduler.RunAt(absl::Now() + absl::Milliseconds(100), [&] { later.Notify(); });
  ASSERT_TRUE(later.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(runs.load(), 0);
}

TEST(SchedulerTest, CancelWaitsForARunningTask) {
  Scheduler scheduler;
  absl::Notification started;
  std::atomic<bool> finished{false};
  const Scheduler::TaskId id = scheduler.RunAt(absl::Now(), [&] {
    started.Notify();
    absl::SleepFor(absl::Milliseconds(50));
    finished = true;
  });
  started.WaitForNotification();
  scheduler.Cancel(id);
  EXPECT_TRUE(finished.load());
}

}  // namespace
}  // namespace mine
