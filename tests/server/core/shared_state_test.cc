// Two SessionManagers on one state directory, as two replicas would run:
// leases on real files, a clock the test steps, and lease renewals driven by
// the test (RenewAll) rather than by the keepers' threads, whose period
// (ttl / 3 of a 60 s ttl) never comes round during a test.
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "client/synthetic_data.h"
#include "gtest/gtest.h"
#include "server/core/lease_store.h"
#include "server/core/session_manager.h"
#include "tests/support/small_session_config.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace mine {
namespace {

namespace fs = std::filesystem;

constexpr absl::Duration kTtl = absl::Seconds(60);
constexpr int64_t kRowsPerBatch = 50;

// Wall clock of the test: starts now, moves only when told.
class SteppedClock {
 public:
  absl::Time Now() const {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }
  LeaseClock AsLeaseClock() {
    return [this] { return Now(); };
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ = absl::Now();
};

class SharedStateTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(root_.empty()); }

  std::unique_ptr<SessionManager> Replica(const std::string& name) {
    SessionManagerOptions o;
    o.workers = 1;
    o.session.steps_per_slice = 10;
    o.persistence.state_dir = root_ + "/state";
    o.persistence.checkpoint_interval = absl::ZeroDuration();
    o.persistence.shared = true;
    o.persistence.replica_id = name;
    o.persistence.lease_ttl = kTtl;
    o.persistence.clock = clock_.AsLeaseClock();
    auto m = std::make_unique<SessionManager>(o);
    EXPECT_OK(m->RestoreState());
    return m;
  }

  // Replicas a_ and b_, and session "s1" created on a_ (on_a_).
  void StartTwoWithSessionOnA() {
    a_ = Replica("a");
    b_ = Replica("b");
    absl::StatusOr<std::shared_ptr<Session>> created = a_->Create("s1", SmallSessionConfig());
    ASSERT_OK(created);
    on_a_ = *std::move(created);
  }

  LeaseStore Leases() {
    return LeaseStore(root_ + "/state/sessions", "observer", kTtl, clock_.AsLeaseClock());
  }

  // Pushes batches seq first..last of kRowsPerBatch rows each; all must be
  // acknowledged.
  void Push(Session& s, int64_t first, int64_t last) {
    for (int64_t seq = first; seq <= last; ++seq) {
      std::vector<float> x, z;
      CorrelatedGaussian(1, 0.8, Transform::kNone, seq).Fill(kRowsPerBatch, &x, &z);
      absl::StatusOr<IngestResult> r = s.Ingest(x, z, seq);
      ASSERT_OK(r);
    }
  }

  absl::StatusOr<IngestResult> PushOne(Session& s, int64_t seq) {
    std::vector<float> x, z;
    CorrelatedGaussian(1, 0.8, Transform::kNone, seq).Fill(kRowsPerBatch, &x, &z);
    return s.Ingest(x, z, seq);
  }

  TempDir dir_{"mine-shared-test"};
  const std::string root_ = dir_.path();
  SteppedClock clock_;
  std::unique_ptr<SessionManager> a_, b_;
  std::shared_ptr<Session> on_a_;
};

TEST_F(SharedStateTest, LeaseIsExclusiveAndRecordsWhoAskedForIt) {
  fs::create_directories(root_ + "/state/sessions/s1");
  LeaseStore a(root_ + "/state/sessions", "a", kTtl, clock_.AsLeaseClock());
  LeaseStore b(root_ + "/state/sessions", "b", kTtl, clock_.AsLeaseClock());
  absl::StatusOr<Lease> taken = a.Acquire("s1");
  ASSERT_OK(taken);
  EXPECT_EQ(taken->owner, "a");
  EXPECT_EQ(taken->epoch, 1);

  absl::StatusOr<Lease> refused = b.Acquire("s1");
  EXPECT_STATUS_CODE(refused, absl::StatusCode::kUnavailable);
  EXPECT_NE(refused.status().message().find("held by replica a"), std::string::npos)
      << refused.status();
  absl::StatusOr<Lease> renewed = a.Renew("s1", 1);
  ASSERT_OK(renewed);
  EXPECT_EQ(renewed->owner, "a");
  EXPECT_EQ(renewed->requested_by, "b");

  ASSERT_OK(a.Release("s1", 1));
  absl::StatusOr<Lease> handed = b.Acquire("s1");
  ASSERT_OK(handed);
  EXPECT_EQ(handed->owner, "b");
  EXPECT_EQ(handed->epoch, 2);
  EXPECT_EQ(handed->requested_by, "");
  // a's old epoch is gone: renewing it reports the new owner.
  absl::StatusOr<Lease> lost = a.Renew("s1", 1);
  ASSERT_OK(lost);
  EXPECT_EQ(lost->owner, "b");

  EXPECT_STATUS_CODE(a.Acquire("no-such-session"), absl::StatusCode::kNotFound);
}

TEST_F(SharedStateTest, ExpiredLeaseIsTakenWithoutTheOwner) {
  fs::create_directories(root_ + "/state/sessions/s1");
  LeaseStore a(root_ + "/state/sessions", "a", kTtl, clock_.AsLeaseClock());
  LeaseStore b(root_ + "/state/sessions", "b", kTtl, clock_.AsLeaseClock());
  ASSERT_OK(a.Acquire("s1"));
  clock_.Advance(kTtl - absl::Seconds(1));
  EXPECT_STATUS_CODE(b.Acquire("s1"), absl::StatusCode::kUnavailable);
  clock_.Advance(absl::Seconds(2));
  absl::StatusOr<Lease> taken = b.Acquire("s1");
  ASSERT_OK(taken);
  EXPECT_EQ(taken->owner, "b");
}

TEST_F(SharedStateTest, DamagedLeaseIsHeldForATtlNotFree) {
  fs::create_directories(root_ + "/state/sessions/s1");
  {
    std::ofstream(root_ + "/state/sessions/s1/lease") << "lease1 a 99999999999999999999 x\n";
  }
  LeaseStore b(root_ + "/state/sessions", "b", kTtl, clock_.AsLeaseClock());
  // Its writer may be alive: a takeover waits as for a live lease...
  EXPECT_STATUS_CODE(b.Acquire("s1"), absl::StatusCode::kUnavailable);
  clock_.Advance(kTtl - absl::Seconds(1));
  EXPECT_STATUS_CODE(b.Acquire("s1"), absl::StatusCode::kUnavailable);
  // ...and no longer.
  clock_.Advance(absl::Seconds(2));
  absl::StatusOr<Lease> taken = b.Acquire("s1");
  ASSERT_OK(taken);
  EXPECT_EQ(taken->owner, "b");
  EXPECT_EQ(taken->epoch, 1);
}

TEST_F(SharedStateTest, LeaseExpiringFarAheadLastsAtMostATtlAndSomeSkew) {
  fs::create_directories(root_ + "/state/sessions/s1");
  Lease forever;
  forever.owner = "a";
  forever.epoch = 3;
  forever.expires = clock_.Now() + absl::Hours(24 * 365);
  {
    std::ofstream(root_ + "/state/sessions/s1/lease") << LeaseStore::Format(forever);
  }
  LeaseStore b(root_ + "/state/sessions", "b", kTtl, clock_.AsLeaseClock());
  EXPECT_STATUS_CODE(b.Acquire("s1"), absl::StatusCode::kUnavailable);
  clock_.Advance(kTtl + absl::Minutes(2));
  absl::StatusOr<Lease> taken = b.Acquire("s1");
  ASSERT_OK(taken);
  EXPECT_EQ(taken->owner, "b");
  EXPECT_EQ(taken->epoch, 4);
}

TEST_F(SharedStateTest, LeaseFileRoundTripsAndRejectsGarbage) {
  Lease lease;
  lease.owner = "pod-0";
  lease.epoch = 7;
  lease.expires = absl::FromUnixMillis(1234567);
  absl::StatusOr<Lease> parsed = LeaseStore::Parse(LeaseStore::Format(lease));
  ASSERT_OK(parsed);
  EXPECT_EQ(parsed->owner, "pod-0");
  EXPECT_EQ(parsed->epoch, 7);
  EXPECT_EQ(parsed->expires, lease.expires);
  EXPECT_EQ(parsed->requested_by, "");
  EXPECT_STATUS_CODE(LeaseStore::Parse("lease1 a b c d"), absl::StatusCode::kDataLoss);
  EXPECT_STATUS_CODE(LeaseStore::Parse(""), absl::StatusCode::kDataLoss);
  EXPECT_STATUS_CODE(LeaseStore::Parse("lease1 a -1 5 -"), absl::StatusCode::kDataLoss);
  EXPECT_STATUS_CODE(LeaseStore::Parse("lease1 a 9223372036854775807 5 -"),
                     absl::StatusCode::kDataLoss);
}

TEST_F(SharedStateTest, NothingIsLoadedAtStartUp) {
  {
    std::unique_ptr<SessionManager> a = Replica("a");
    absl::StatusOr<std::shared_ptr<Session>> s = a->Create("s1", SmallSessionConfig());
    ASSERT_OK(s);
    Push(**s, 1, 3);
  }
  std::unique_ptr<SessionManager> a = Replica("a");
  EXPECT_EQ(a->session_count(), 0);
  absl::StatusOr<std::shared_ptr<Session>> s = a->Get("s1");
  ASSERT_OK(s);
  EXPECT_EQ((*s)->status().samples_seen, 3 * kRowsPerBatch);
  EXPECT_EQ(a->session_count(), 1);
}

TEST_F(SharedStateTest, HandoffMovesTheSessionWithNothingLostOrDoubled) {
  StartTwoWithSessionOnA();
  SessionManager* a = a_.get();
  SessionManager* b = b_.get();
  Push(*on_a_, 1, 5);

  // b is asked for it: refused (retryable) while a holds it; a hears of it
  // at its next renewal and hands over.
  absl::StatusOr<std::shared_ptr<Session>> refused = b->Get("s1");
  EXPECT_STATUS_CODE(refused, absl::StatusCode::kUnavailable);
  EXPECT_NE(refused.status().message().find("replica a"), std::string::npos) << refused.status();
  a->leases()->RenewAll();
  EXPECT_EQ(a->session_count(), 0);
  // a client still on a is told to retry elsewhere, not that it is gone.
  EXPECT_STATUS_CODE(PushOne(*on_a_, 6), absl::StatusCode::kUnavailable);

  absl::StatusOr<std::shared_ptr<Session>> on_b = b->Get("s1");
  ASSERT_OK(on_b);
  EXPECT_EQ((*on_b)->status().samples_seen, 5 * kRowsPerBatch);
  EXPECT_EQ((*on_b)->status().last_sequence, 5);
  absl::StatusOr<IngestResult> resent = PushOne(**on_b, 5);
  ASSERT_OK(resent);
  EXPECT_TRUE(resent->duplicate);
  Push(**on_b, 6, 8);
  EXPECT_EQ((*on_b)->status().samples_seen, 8 * kRowsPerBatch);

  // And back: b hands over to a, with b's batches in the log.
  EXPECT_STATUS_CODE(a->Get("s1"), absl::StatusCode::kUnavailable);
  b->leases()->RenewAll();
  absl::StatusOr<std::shared_ptr<Session>> back = a->Get("s1");
  ASSERT_OK(back);
  EXPECT_EQ((*back)->status().samples_seen, 8 * kRowsPerBatch);
  EXPECT_EQ((*back)->status().last_sequence, 8);
  absl::StatusOr<Lease> lease = Leases().Read("s1");
  ASSERT_OK(lease);
  EXPECT_EQ(lease->owner, "a");
}

TEST_F(SharedStateTest, StaleOwnerRefusesWritesAndGivesUpWithoutWriting) {
  StartTwoWithSessionOnA();
  SessionManager* a = a_.get();
  SessionManager* b = b_.get();
  Push(*on_a_, 1, 4);

  // a stalls (no renewals) past its lease: it refuses batches on its own
  // clock, before b can take over...
  clock_.Advance(kTtl * 3 / 4 + absl::Seconds(1));
  EXPECT_STATUS_CODE(PushOne(*on_a_, 5), absl::StatusCode::kUnavailable);
  EXPECT_STATUS_CODE(b->Get("s1"), absl::StatusCode::kUnavailable);  // not expired yet
  // ...b takes the expired lease and has exactly what a acknowledged...
  clock_.Advance(kTtl / 4);
  absl::StatusOr<std::shared_ptr<Session>> on_b = b->Get("s1");
  ASSERT_OK(on_b);
  EXPECT_EQ((*on_b)->status().samples_seen, 4 * kRowsPerBatch);
  EXPECT_EQ((*on_b)->status().last_sequence, 4);
  // ...and a, waking up, drops its copy without writing a checkpoint.
  const std::string checkpoint = root_ + "/state/sessions/s1/checkpoint";
  const auto written = fs::last_write_time(checkpoint);
  EXPECT_STATUS_CODE(a->CheckpointAll(), absl::StatusCode::kUnavailable);
  a->leases()->RenewAll();
  EXPECT_EQ(a->session_count(), 0);
  EXPECT_EQ(fs::last_write_time(checkpoint), written);
  EXPECT_STATUS_CODE(a->Get("s1"), absl::StatusCode::kUnavailable);

  Push(**on_b, 5, 6);
  EXPECT_EQ((*on_b)->status().samples_seen, 6 * kRowsPerBatch);
}

TEST_F(SharedStateTest, OwnerPastItsDeadlineWithTheLeaseStillItsReloadsTheSession) {
  StartTwoWithSessionOnA();
  Push(*on_a_, 1, 3);
  // a's renewals were late (nobody took the lease): its guard ran out...
  clock_.Advance(kTtl * 3 / 4 + absl::Seconds(1));
  EXPECT_STATUS_CODE(PushOne(*on_a_, 4), absl::StatusCode::kUnavailable);
  // ...so the next renewal drops the copy instead of renewing a session that
  // would refuse every batch for as long as a holds the lease.
  a_->leases()->RenewAll();
  EXPECT_EQ(a_->session_count(), 0);
  absl::StatusOr<std::shared_ptr<Session>> again = a_->Get("s1");
  ASSERT_OK(again);
  EXPECT_EQ((*again)->status().samples_seen, 3 * kRowsPerBatch);
  Push(**again, 4, 5);
  EXPECT_EQ((*again)->status().samples_seen, 5 * kRowsPerBatch);
}

TEST_F(SharedStateTest, CreateOfAStoredIdComparesConfigsOnAnyReplica) {
  StartTwoWithSessionOnA();
  // Held by a: retry; after the handoff, the same config is the same session.
  EXPECT_STATUS_CODE(b_->Create("s1", SmallSessionConfig()), absl::StatusCode::kUnavailable);
  a_->leases()->RenewAll();
  absl::StatusOr<std::shared_ptr<Session>> same = b_->Create("s1", SmallSessionConfig());
  ASSERT_OK(same);
  EXPECT_EQ((*same)->id(), "s1");
  SessionConfig other = SmallSessionConfig();
  other.window_size = 4096;
  EXPECT_STATUS_CODE(b_->Create("s1", other), absl::StatusCode::kAlreadyExists);
}

TEST_F(SharedStateTest, ListReadsOtherReplicasSessionsWithoutTakingTheirLeases) {
  StartTwoWithSessionOnA();
  absl::StatusOr<std::shared_ptr<Session>> s2 = b_->Create("s2", SmallSessionConfig());
  ASSERT_OK(s2);
  Push(**s2, 1, 2);
  absl::StatusOr<SessionManager::Page> page = a_->List(0, "");
  ASSERT_OK(page);
  ASSERT_EQ(page->sessions.size(), 2u);
  EXPECT_EQ(page->sessions[0]->id(), "s1");
  EXPECT_EQ(page->sessions[1]->id(), "s2");
  absl::StatusOr<Lease> lease = Leases().Read("s2");
  ASSERT_OK(lease);
  EXPECT_EQ(lease->owner, "b");
  EXPECT_EQ(b_->session_count(), 1);
}

TEST_F(SharedStateTest, DeleteTakesTheLeaseFirst) {
  StartTwoWithSessionOnA();
  EXPECT_STATUS_CODE(b_->Delete("s1"), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(fs::exists(root_ + "/state/sessions/s1"));
  a_->leases()->RenewAll();  // hands over
  ASSERT_OK(b_->Delete("s1"));
  EXPECT_FALSE(fs::exists(root_ + "/state/sessions/s1"));
  EXPECT_STATUS_CODE(a_->Get("s1"), absl::StatusCode::kNotFound);
  EXPECT_STATUS_CODE(b_->Get("s1"), absl::StatusCode::kNotFound);
}

TEST_F(SharedStateTest, EvictionReleasesTheLease) {
  StartTwoWithSessionOnA();
  SessionManager* a = a_.get();
  SessionManager* b = b_.get();
  Push(*on_a_, 1, 2);
  on_a_.reset();  // only the manager holds it now
  // Idle sessions that no one holds leave memory, lease given back.
  for (int i = 0; i < 100 && a->EvictIdle(absl::Nanoseconds(1)) == 0; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(a->session_count(), 0);
  absl::StatusOr<Lease> lease = Leases().Read("s1");
  ASSERT_OK(lease);
  EXPECT_EQ(lease->owner, "");
  // The reaper sees it as unheld; b can load it at once.
  ASSERT_EQ(b->EvictedSessions().size(), 1u);
  absl::StatusOr<std::shared_ptr<Session>> on_b = b->Get("s1");
  ASSERT_OK(on_b);
  EXPECT_EQ((*on_b)->status().samples_seen, 2 * kRowsPerBatch);
  EXPECT_TRUE(b->EvictedSessions().empty());
}

TEST_F(SharedStateTest, ReplicaIdIsRequired) {
  SessionManagerOptions o;
  o.workers = 1;
  o.persistence.state_dir = root_ + "/state";
  o.persistence.shared = true;
  SessionManager m(o);
  absl::Status s = m.RestoreState();
  EXPECT_STATUS_CODE(s, absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("replica id"), std::string::npos) << s;
  // "-" is how a lease file writes "nobody".
  o.persistence.replica_id = "-";
  SessionManager dash(o);
  EXPECT_STATUS_CODE(dash.RestoreState(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mine
