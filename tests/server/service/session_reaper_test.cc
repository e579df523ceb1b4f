#include "server/service/session_reaper.h"

#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace mine {
namespace {

SessionConfig Tiny() {
  SessionConfig config;
  config.x_dim = 1;
  config.z_dim = 1;
  config.hidden_units = {8};
  return config;
}

TEST(SessionReaperTest, DeletesOnlySessionsIdleForTheTtl) {
  SessionManagerOptions options;
  options.workers = 1;
  SessionManager manager(options);
  ASSERT_OK(manager.Create("idle", Tiny()));
  ASSERT_OK(manager.Create("touched", Tiny()));
  ASSERT_OK(manager.Create("streaming", Tiny()));
  SessionReaper reaper(&manager, absl::Minutes(1));
  reaper.StreamOpened("streaming");
  const absl::Time later = absl::Now() + absl::Minutes(2);
  reaper.Touch("touched");
  EXPECT_EQ(reaper.ReapIdle(absl::Now()), 0);  // nobody idle yet
  // Two minutes on, both "idle" and "touched" are past the ttl.
  EXPECT_EQ(reaper.ReapIdle(later), 2);
  EXPECT_STATUS_CODE(manager.Get("idle"), absl::StatusCode::kNotFound);
  EXPECT_OK(manager.Get("streaming"));  // an open stream keeps it
  reaper.StreamClosed("streaming");
  EXPECT_EQ(reaper.ReapIdle(absl::Now() + absl::Minutes(2)), 1);
}

TEST(SessionReaperTest, RecentTouchKeepsASession) {
  SessionManagerOptions options;
  options.workers = 1;
  SessionManager manager(options);
  ASSERT_OK(manager.Create("s", Tiny()));
  SessionReaper reaper(&manager, absl::Seconds(30));
  const absl::Time check = absl::Now() + absl::Seconds(20);
  reaper.Touch("s");
  EXPECT_EQ(reaper.ReapIdle(check), 0);
  EXPECT_EQ(reaper.ReapIdle(check + absl::Seconds(40)), 1);
}

TEST(SessionReaperTest, ZeroTtlNeverDeletes) {
  SessionManagerOptions options;
  options.workers = 1;
  SessionManager manager(options);
  ASSERT_OK(manager.Create("s", Tiny()));
  SessionReaper reaper(&manager, absl::ZeroDuration());
  reaper.Start();
  EXPECT_EQ(reaper.ReapIdle(absl::Now() + absl::Hours(1000)), 0);
  EXPECT_OK(manager.Get("s"));
}

}  // namespace
}  // namespace mine
