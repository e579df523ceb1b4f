// SessionManager with a state directory: sessions survive the manager (a
// graceful restart) and a copy of the directory taken mid-stream (what a
// kill -9 leaves), and bad files are quarantined without failing the start.
#include "server/core/session_store.h"

#include <stdlib.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "client/synthetic_data.h"
#include "gtest/gtest.h"
#include "server/core/session_manager.h"
#include "tests/support/small_session_config.h"
#include "tests/support/status_matchers.h"

namespace mine {
namespace {

namespace fs = std::filesystem;

SessionConfig Small() { return SmallSessionConfig(); }

class SessionStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/mine-store-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    root_ = pattern;
  }
  void TearDown() override { fs::remove_all(root_); }

  SessionManagerOptions Options(const std::string& dir) {
    SessionManagerOptions o;
    o.workers = 1;
    o.session.steps_per_slice = 10;
    o.persistence.state_dir = dir;
    o.persistence.checkpoint_interval = absl::ZeroDuration();
    return o;
  }

  std::unique_ptr<SessionManager> Open(const std::string& dir) {
    auto m = std::make_unique<SessionManager>(Options(dir));
    EXPECT_OK(m->RestoreState());
    return m;
  }

  // Pushes batches seq first..last of 50 rows each.
  void Push(Session& s, int64_t first, int64_t last) {
    for (int64_t seq = first; seq <= last; ++seq) {
      std::vector<float> x, z;
      CorrelatedGaussian(1, 0.8, Transform::kNone, seq).Fill(50, &x, &z);
      ASSERT_OK(s.Ingest(x, z, seq));
    }
  }

  std::vector<std::string> Quarantined() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(root_ + "/state/quarantine")) {
      names.push_back(e.path().filename().string());
    }
    return names;
  }

  std::string root_;
};

TEST_F(SessionStoreTest, GracefulRestartBringsEverySessionAndEstimateBack) {
  Estimate before;
  {
    auto m = Open(root_ + "/state");
    auto s = m->Create("a", Small());
    ASSERT_OK(s);
    ASSERT_OK(m->Create("b", Small()));
    Push(**s, 1, 20);
    ASSERT_TRUE((*s)->WaitForEstimate(1000, absl::Seconds(60)));
    ASSERT_OK(m->CheckpointAll());
    before = (*s)->latest_estimate();
  }  // the destructor checkpoints again
  auto m = Open(root_ + "/state");
  EXPECT_EQ(m->session_count(), 2);
  auto s = m->Get("a");
  ASSERT_OK(s);
  const SessionStatus status = (*s)->status();
  EXPECT_EQ(status.samples_seen, 1000);
  EXPECT_EQ(status.last_sequence, 20);
  EXPECT_GE(status.train_steps, before.train_steps);
  EXPECT_GE((*s)->latest_estimate().version, before.version);
  // Training goes on from there, and sequence numbers stay de-duplicated.
  Push(**s, 21, 22);
  std::vector<float> x, z;
  CorrelatedGaussian(1, 0.8, Transform::kNone, 1).Fill(50, &x, &z);
  absl::StatusOr<IngestResult> again = (*s)->Ingest(x, z, 5);
  ASSERT_OK(again);
  EXPECT_TRUE(again->duplicate);
  ASSERT_TRUE((*s)->WaitForEstimate(1100, absl::Seconds(60)));
  EXPECT_GT((*s)->latest_estimate().train_steps, before.train_steps);
}

TEST_F(SessionStoreTest, CrashCopyKeepsEveryAcknowledgedBatch) {
  auto m = Open(root_ + "/state");
  auto s = m->Create("a", Small());
  ASSERT_OK(s);
  Push(**s, 1, 10);
  ASSERT_OK(m->CheckpointAll());
  Push(**s, 11, 17);  // only in the log
  // What kill -9 leaves: the files as they are now, no final checkpoint.
  fs::copy(root_ + "/state", root_ + "/crash", fs::copy_options::recursive);
  auto restored = Open(root_ + "/crash");
  auto r = restored->Get("a");
  ASSERT_OK(r);
  EXPECT_EQ((*r)->status().samples_seen, 17 * 50);
  EXPECT_EQ((*r)->status().last_sequence, 17);
  EXPECT_TRUE(Quarantined().empty());
}

TEST_F(SessionStoreTest, TornLogTailKeepsTheValidPrefixAndQuarantinesTheRest) {
  {
    auto m = Open(root_ + "/state");
    auto s = m->Create("a", Small());
    ASSERT_OK(s);
    ASSERT_OK(m->CheckpointAll());
    Push(**s, 1, 4);
    fs::copy(root_ + "/state", root_ + "/crash", fs::copy_options::recursive);
  }
  fs::remove_all(root_ + "/state");
  fs::rename(root_ + "/crash", root_ + "/state");
  std::string segment;
  for (const auto& e : fs::directory_iterator(root_ + "/state/sessions/a")) {
    if (SampleLog::SegmentFirstIndex(e.path().filename().string()) > 0) segment = e.path();
  }
  ASSERT_FALSE(segment.empty());
  // Cut the last record in half, as a crash in the middle of a write would.
  fs::resize_file(segment, fs::file_size(segment) - 100);
  auto m = Open(root_ + "/state");
  auto s = m->Get("a");
  ASSERT_OK(s);
  EXPECT_EQ((*s)->status().samples_seen, 3 * 50);
  EXPECT_EQ((*s)->status().last_sequence, 3);
  EXPECT_EQ(Quarantined().size(), 1u);
}

TEST_F(SessionStoreTest, CorruptCheckpointIsQuarantinedAndOtherSessionsStart) {
  {
    auto m = Open(root_ + "/state");
    ASSERT_OK(m->Create("good", Small()));
    ASSERT_OK(m->Create("bad", Small()));
  }
  {
    std::fstream f(root_ + "/state/sessions/bad/checkpoint",
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40);
    f.write("garbage!", 8);
  }
  auto m = Open(root_ + "/state");
  EXPECT_OK(m->Get("good"));
  EXPECT_STATUS_CODE(m->Get("bad"), absl::StatusCode::kNotFound);
  ASSERT_EQ(Quarantined().size(), 1u);
  EXPECT_EQ(Quarantined()[0].rfind("bad.bad.", 0), 0u);
}

TEST_F(SessionStoreTest, TruncatedAndEmptyCheckpointsNeverStopTheStart) {
  {
    auto m = Open(root_ + "/state");
    ASSERT_OK(m->Create("t", Small()));
    ASSERT_OK(m->Create("e", Small()));
    ASSERT_OK(m->Create("ok", Small()));
  }
  fs::resize_file(root_ + "/state/sessions/t/checkpoint", 30);
  fs::resize_file(root_ + "/state/sessions/e/checkpoint", 0);
  fs::create_directories(root_ + "/state/sessions/no-checkpoint");
  fs::create_directories(root_ + "/state/sessions/bad id!");
  auto m = Open(root_ + "/state");
  EXPECT_EQ(m->session_count(), 1);
  EXPECT_EQ(Quarantined().size(), 3u);
}

TEST_F(SessionStoreTest, StricterLimitsAfterARestartNeverLoseState) {
  {
    auto m = Open(root_ + "/state");
    auto s = m->Create("wide", Small());
    ASSERT_OK(s);
    ASSERT_OK(m->CheckpointAll());
    Push(**s, 1, 3);  // 50-row batches, in the log only
    fs::copy(root_ + "/state", root_ + "/crash", fs::copy_options::recursive);
  }
  // Batches bigger than today's --max_batch_rows are still replayed.
  SessionManagerOptions fewer_rows = Options(root_ + "/crash");
  fewer_rows.session.max_batch_rows = 10;
  {
    SessionManager m(fewer_rows);
    ASSERT_OK(m.RestoreState());
    auto s = m.Get("wide");
    ASSERT_OK(s);
    EXPECT_EQ((*s)->status().samples_seen, 150);
  }
  // A config beyond today's limits is left on disk, not quarantined.
  SessionManagerOptions narrow = Options(root_ + "/state");
  narrow.limits.max_hidden_units = 4;
  {
    SessionManager m(narrow);
    ASSERT_OK(m.RestoreState());
    EXPECT_STATUS_CODE(m.Get("wide"), absl::StatusCode::kNotFound);
  }
  EXPECT_TRUE(Quarantined().empty());
  auto m = Open(root_ + "/state");
  EXPECT_OK(m->Get("wide"));
}

TEST_F(SessionStoreTest, DeleteRemovesTheSessionsFiles) {
  auto m = Open(root_ + "/state");
  ASSERT_OK(m->Create("gone", Small()));
  EXPECT_TRUE(fs::exists(root_ + "/state/sessions/gone/checkpoint"));
  ASSERT_OK(m->Delete("gone"));
  EXPECT_FALSE(fs::exists(root_ + "/state/sessions/gone"));
}

TEST_F(SessionStoreTest, ReadOnlyStateDirFailsCreateWithAClearError) {
  const std::string dir = root_ + "/ro";
  fs::create_directories(dir);
  if (mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=1m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  }
  {
    auto m = Open(dir + "/state");
    // No file is open for writing yet, so the remount can succeed.
    ASSERT_EQ(mount("tmpfs", dir.c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY, "size=1m"), 0);
    absl::StatusOr<std::shared_ptr<Session>> s = m->Create("x", Small());
    EXPECT_STATUS_CODE(s, absl::StatusCode::kUnavailable);
    EXPECT_NE(s.status().message().find(dir + "/state"), std::string::npos) << s.status();
    EXPECT_STATUS_CODE(m->Get("x"), absl::StatusCode::kNotFound);
    EXPECT_EQ(m->session_count(), 0);
  }
  umount(dir.c_str());
}

TEST_F(SessionStoreTest, FullDiskRefusesBatchesClearlyAndKeepsServing) {
  const std::string dir = root_ + "/tiny";
  fs::create_directories(dir);
  if (mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=256k") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  }
  int64_t acknowledged = 0;
  {
    auto m = Open(dir + "/state");
    auto s = m->Create("full", Small());
    ASSERT_OK(s);
    absl::Status refused;
    std::vector<float> x, z;
    CorrelatedGaussian(1, 0.8, Transform::kNone, 9).Fill(2000, &x, &z);
    for (int64_t seq = 1; seq < 1000 && refused.ok(); ++seq) {
      absl::StatusOr<IngestResult> r = (*s)->Ingest(x, z, seq);
      if (r.ok()) acknowledged += 2000;
      refused = r.status();
    }
    EXPECT_STATUS_CODE(refused, absl::StatusCode::kUnavailable);
    EXPECT_NE(refused.message().find(dir + "/state"), std::string::npos) << refused;
    EXPECT_NE(refused.message().find("No space left"), std::string::npos) << refused;
    EXPECT_EQ((*s)->status().samples_seen, acknowledged);  // the refused batch left no trace
    // Other calls keep working; a new session is refused with a clear error.
    EXPECT_OK(m->Get("full"));
    absl::StatusOr<std::shared_ptr<Session>> other = m->Create("other", Small());
    if (!other.ok()) {
      EXPECT_NE(other.status().message().find(dir + "/state"), std::string::npos);
    }
  }
  // What was acknowledged is all there after a restart (the destructor's
  // checkpoint may have failed for lack of space: the log still has it).
  {
    auto m = Open(dir + "/state");
    auto s = m->Get("full");
    ASSERT_OK(s);
    EXPECT_EQ((*s)->status().samples_seen, acknowledged);
  }
  umount(dir.c_str());
}

TEST_F(SessionStoreTest, IdleSessionsLeaveMemoryAndComeBackOnUse) {
  SessionManagerOptions options = Options(root_ + "/state");
  options.persistence.idle_evict = absl::Milliseconds(200);
  SessionManager m(options);
  ASSERT_OK(m.RestoreState());
  Estimate before;
  {
    auto s = m.Create("idle", Small());
    ASSERT_OK(s);
    ASSERT_OK(m.Create("busy", Small()));
    Push(**s, 1, 20);
    ASSERT_TRUE((*s)->WaitForEstimate(1000, absl::Seconds(60)));
    before = (*s)->latest_estimate();
  }
  auto busy = m.Get("busy");  // held: never evicted
  ASSERT_OK(busy);
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (m.session_count() > 1 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(50));
  ASSERT_EQ(m.session_count(), 1);
  ASSERT_EQ(m.EvictedSessions().size(), 1u);
  EXPECT_EQ(m.EvictedSessions()[0].first, "idle");

  // Listed and loaded back transparently, with its state.
  auto page = m.List(0, "");
  ASSERT_OK(page);
  ASSERT_EQ(page->sessions.size(), 2u);
  auto s = m.Get("idle");
  ASSERT_OK(s);
  EXPECT_EQ((*s)->status().samples_seen, 1000);
  EXPECT_EQ((*s)->status().last_sequence, 20);
  EXPECT_GE((*s)->latest_estimate().train_steps, before.train_steps);
  // Create with the same config returns it rather than a fresh one.
  auto again = m.Create("idle", Small());
  ASSERT_OK(again);
  EXPECT_EQ(again->get(), s->get());
  s = absl::StatusOr<std::shared_ptr<Session>>();
  again = absl::StatusOr<std::shared_ptr<Session>>();
  page = absl::StatusOr<SessionManager::Page>();

  // Deleting an evicted session removes its files without loading it.
  while (m.session_count() > 1 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(50));
  ASSERT_EQ(m.EvictedSessions().size(), 1u);
  ASSERT_OK(m.Delete("idle"));
  EXPECT_FALSE(fs::exists(root_ + "/state/sessions/idle"));
  EXPECT_STATUS_CODE(m.Get("idle"), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace mine
