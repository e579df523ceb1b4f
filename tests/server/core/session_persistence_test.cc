// Snapshot and Restore of a Session: a restored session must continue
// exactly where the original was (same RNG, network, optimiser, windows).
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "client/synthetic_data.h"
#include "gtest/gtest.h"
#include "server/core/checkpoint_format.h"
#include "server/core/session.h"
#include "tests/support/status_matchers.h"

namespace mine {
namespace {

SessionConfig SmallConfig(EstimatorKind estimator) {
  SessionConfig c;
  c.x_dim = 2;
  c.z_dim = 2;
  c.estimator = estimator;
  c.hidden_units = {16, 16};
  c.batch_size = 32;
  c.window_size = 1024;
  c.seed = 11;
  return c;
}

SessionOptions SmallOptions() {
  SessionOptions o;
  o.steps_per_slice = 10;
  o.max_slice_duration = absl::InfiniteDuration();  // identical slices in both runs
  return o;
}

void Gaussian(int64_t rows, uint64_t seed, std::vector<float>* x, std::vector<float>* z) {
  x->clear();
  z->clear();
  CorrelatedGaussian(2, 0.8, Transform::kNone, seed).Fill(rows, x, z);
}

void ExpectSameEstimate(const Estimate& a, const Estimate& b) {
  EXPECT_EQ(a.mi_nats, b.mi_nats);
  EXPECT_EQ(a.std_error_nats, b.std_error_nats);
  EXPECT_EQ(a.samples_seen, b.samples_seen);
  EXPECT_EQ(a.train_steps, b.train_steps);
  EXPECT_EQ(a.last_sequence, b.last_sequence);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.learning_rate, b.learning_rate);
  EXPECT_EQ(a.version, b.version);
}

class SessionPersistenceTest : public ::testing::TestWithParam<EstimatorKind> {};

TEST_P(SessionPersistenceTest, RestoredSessionContinuesExactlyWhereItWas) {
  SessionConfig config = SmallConfig(GetParam());
  if (GetParam() == EstimatorKind::kMineF) {
    config.input_normalization = InputNormalization::kQuantile;
    config.marginal_sampling = MarginalSampling::kWindow;
  }
  auto made = Session::Create("p1", config, nullptr, SmallOptions());
  ASSERT_OK(made);
  std::shared_ptr<Session> original = *made;
  std::vector<float> x, z;
  Gaussian(900, 1, &x, &z);
  ASSERT_OK(original->Ingest(x, z, 1));
  for (int i = 0; i < 4; ++i) original->RunSlice();
  Gaussian(100, 2, &x, &z);
  ASSERT_OK(original->Ingest(x, z, 2));  // still queued at the snapshot

  absl::StatusOr<SessionSnapshot> snapshot = original->Snapshot();
  ASSERT_OK(snapshot);
  EXPECT_EQ(snapshot->batches_covered, 2);
  auto restored_or = Session::Restore("p1", snapshot->payload, nullptr, SmallOptions());
  ASSERT_OK(restored_or);
  std::shared_ptr<Session> restored = *restored_or;

  EXPECT_EQ(restored->config(), original->config());
  ExpectSameEstimate(restored->latest_estimate(), original->latest_estimate());
  const SessionStatus a = original->status(), b = restored->status();
  EXPECT_EQ(a.samples_seen, b.samples_seen);
  EXPECT_EQ(a.pending_rows, b.pending_rows);
  EXPECT_EQ(a.last_sequence, b.last_sequence);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(restored->batches_accepted(), 2);

  // The same next slices give bit-identical estimates: every piece of state
  // (network, Adam moments, EMA, RNG, windows, normalisers) came back.
  for (int i = 0; i < 3; ++i) {
    original->RunSlice();
    restored->RunSlice();
    ExpectSameEstimate(restored->latest_estimate(), original->latest_estimate());
  }
  EXPECT_GT(restored->latest_estimate().train_steps, a.train_steps);
  EXPECT_EQ(restored->latest_estimate().samples_seen, 1000);

  // Exactly-once survives: the last sequence is remembered.
  absl::StatusOr<IngestResult> again = restored->Ingest(x, z, 2);
  ASSERT_OK(again);
  EXPECT_TRUE(again->duplicate);
}

INSTANTIATE_TEST_SUITE_P(Bounds, SessionPersistenceTest,
                         ::testing::Values(EstimatorKind::kMine, EstimatorKind::kMineF,
                                           EstimatorKind::kInfoNce, EstimatorKind::kSmile));

TEST(SessionRestoreTest, RejectsEveryTruncationAndCorruptionWithoutCrashing) {
  auto made = Session::Create("p2", SmallConfig(EstimatorKind::kMine), nullptr, SmallOptions());
  ASSERT_OK(made);
  std::vector<float> x, z;
  Gaussian(300, 3, &x, &z);
  ASSERT_OK((*made)->Ingest(x, z));
  (*made)->RunSlice();
  absl::StatusOr<SessionSnapshot> snapshot = (*made)->Snapshot();
  ASSERT_OK(snapshot);
  const std::string& payload = snapshot->payload;
  for (size_t cut = 0; cut < payload.size(); cut += 1 + payload.size() / 97) {
    EXPECT_FALSE(Session::Restore("p2", payload.substr(0, cut), nullptr).ok()) << cut;
  }
  EXPECT_FALSE(Session::Restore("p2", payload + "x", nullptr).ok());
}

TEST(SessionRestoreTest, ReplaySkipsBatchesTheSnapshotCovers) {
  auto made = Session::Create("p3", SmallConfig(EstimatorKind::kMine), nullptr, SmallOptions());
  ASSERT_OK(made);
  std::vector<float> x, z;
  Gaussian(10, 4, &x, &z);
  ASSERT_OK((*made)->Ingest(x, z, 5));
  absl::StatusOr<SessionSnapshot> snapshot = (*made)->Snapshot();
  ASSERT_OK(snapshot);
  auto restored = Session::Restore("p3", snapshot->payload, nullptr);
  ASSERT_OK(restored);
  absl::StatusOr<bool> old = (*restored)->Replay(1, 5, x, z);
  ASSERT_OK(old);
  EXPECT_FALSE(*old);
  absl::StatusOr<bool> next = (*restored)->Replay(2, 6, x, z);
  ASSERT_OK(next);
  EXPECT_TRUE(*next);
  EXPECT_EQ((*restored)->status().samples_seen, 20);
  EXPECT_EQ((*restored)->status().last_sequence, 6);
}

// A checkpoint written by the build before alerts existed (session state
// version 1: a 1+1-dim session, 400 rows, trained to CONVERGED) loads with
// the alert rules off and trains on.
TEST(SessionRestoreTest, LoadsAVersion1CheckpointWithAlertsOff) {
  std::ifstream in(std::string(MINE_TESTDATA_DIR) + "/session_v1.checkpoint", std::ios::binary);
  ASSERT_TRUE(in) << "missing testdata";
  std::stringstream bytes;
  bytes << in.rdbuf();
  absl::StatusOr<std::string> payload = UnframeCheckpoint(bytes.str());
  ASSERT_OK(payload);
  // SessionStore puts the batches the checkpoint covers (an int64) first.
  auto restored = Session::Restore("v1", payload->substr(sizeof(int64_t)), nullptr);
  ASSERT_OK(restored);
  const SessionStatus status = (*restored)->status();
  EXPECT_EQ(status.samples_seen, 400);
  EXPECT_EQ(status.last_sequence, 1);
  EXPECT_EQ(status.train_steps, 3350);
  EXPECT_EQ(status.latest.state, EstimateState::kConverged);
  EXPECT_NEAR(status.latest.mi_nats, 0.411249, 1e-6);
  EXPECT_FALSE((*restored)->config().alert_rules.any());
  EXPECT_TRUE((*restored)->alert_history().empty());
  // And it writes itself back in the current version, which loads too.
  absl::StatusOr<SessionSnapshot> again = (*restored)->Snapshot();
  ASSERT_OK(again);
  EXPECT_OK(Session::Restore("v1", again->payload, nullptr));
}

}  // namespace
}  // namespace mine
