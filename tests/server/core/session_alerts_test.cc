// Dependence alerts inside a real Session (training by hand, no pool): each
// published estimate carries the alerts it raised, the session keeps them in
// order, reports them to its observer, and a snapshot keeps rules, history
// and the firing state.
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "client/synthetic_data.h"
#include "gtest/gtest.h"
#include "server/core/session.h"
#include "tests/support/status_matchers.h"

namespace mine {
namespace {

// Records what the session reports; thread-safe like a real observer.
class RecordingObserver : public TrainingObserver {
 public:
  void OnTrainingSlice(int, absl::Duration) override {}
  void OnAlert(absl::string_view session_id, const AlertEvent& alert) override {
    absl::MutexLock lock(&mu_);
    alerts_.push_back(alert);
  }
  std::vector<AlertEvent> alerts() const {
    absl::MutexLock lock(&mu_);
    return alerts_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<AlertEvent> alerts_ ABSL_GUARDED_BY(mu_);
};

SessionConfig ThresholdConfig() {
  SessionConfig c;
  c.x_dim = 2;
  c.z_dim = 2;
  c.hidden_units = {16, 16};
  c.batch_size = 32;
  c.window_size = 1024;
  c.seed = 11;
  // True MI 1.02 nats: the estimate climbs through 0.2 once and stays above
  // 0.2 - 0.15, so exactly one firing event is expected.
  c.alert_rules.threshold_enabled = true;
  c.alert_rules.direction = AlertRules::Direction::kAbove;
  c.alert_rules.threshold_nats = 0.2;
  c.alert_rules.hysteresis_nats = 0.15;
  return c;
}

void Feed(Session& session, uint64_t seed, int64_t sequence) {
  std::vector<float> x, z;
  CorrelatedGaussian(2, 0.8, Transform::kNone, seed).Fill(1000, &x, &z);
  ASSERT_OK(session.Ingest(x, z, sequence));
}

// Trains until the threshold fires (at most `slices` slices).
void TrainUntilFiring(Session& session, int slices) {
  for (int i = 0; i < slices && !session.status().threshold_firing; ++i) session.RunSlice();
}

TEST(SessionAlertsTest, EstimatesCarryTheirAlertsInPublicationOrder) {
  RecordingObserver observer;
  SessionOptions options;
  options.observer = &observer;
  auto made = Session::Create("a1", ThresholdConfig(), nullptr, options);
  ASSERT_OK(made);
  Session& session = **made;
  std::vector<Estimate> published;
  absl::Mutex mu;
  session.Subscribe(
      [&](const Estimate& e) {
        absl::MutexLock lock(&mu);
        published.push_back(e);
      },
      [] {});
  Feed(session, 1, 1);
  TrainUntilFiring(session, 200);
  const SessionStatus status = session.status();
  ASSERT_TRUE(status.threshold_firing) << "MI " << status.latest.mi_nats;
  const std::deque<AlertEvent> history = session.alert_history();
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(status.alerts_total, 1);
  const AlertEvent& firing = history[0];
  EXPECT_EQ(firing.kind, AlertEvent::Kind::kThresholdFiring);
  EXPECT_GT(firing.mi_nats, 0.2);
  EXPECT_EQ(firing.reference_nats, 0.2);
  EXPECT_GT(firing.time, absl::UnixEpoch());

  // The estimate that raised it says so, and only that one.
  absl::MutexLock lock(&mu);
  int carrying = 0;
  for (const Estimate& e : published) {
    if (e.alerts.empty()) continue;
    ++carrying;
    EXPECT_EQ(e.version, firing.estimate_version);
    EXPECT_EQ(e.alerts[0].mi_nats, e.mi_nats);
  }
  EXPECT_EQ(carrying, 1);
  ASSERT_EQ(observer.alerts().size(), 1u);
  EXPECT_EQ(observer.alerts()[0].estimate_version, firing.estimate_version);
}

TEST(SessionAlertsTest, RulesHistoryAndFiringStateSurviveASnapshot) {
  auto made = Session::Create("a2", ThresholdConfig(), nullptr);
  ASSERT_OK(made);
  Feed(**made, 1, 1);
  TrainUntilFiring(**made, 200);
  ASSERT_TRUE((*made)->status().threshold_firing);
  absl::StatusOr<SessionSnapshot> snapshot = (*made)->Snapshot();
  ASSERT_OK(snapshot);

  RecordingObserver observer;
  SessionOptions options;
  options.observer = &observer;
  auto restored = Session::Restore("a2", snapshot->payload, nullptr, options);
  ASSERT_OK(restored);
  EXPECT_EQ((*restored)->config().alert_rules, ThresholdConfig().alert_rules);
  SessionStatus status = (*restored)->status();
  EXPECT_TRUE(status.threshold_firing);
  const std::deque<AlertEvent> history = (*restored)->alert_history();
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].message, (*made)->alert_history()[0].message);
  EXPECT_EQ(history[0].time, (*made)->alert_history()[0].time);

  // Still above the line after more data and training: no second firing.
  Feed(**restored, 2, 2);
  for (int i = 0; i < 20; ++i) (*restored)->RunSlice();
  status = (*restored)->status();
  ASSERT_GT(status.latest.mi_nats, 0.2 - 0.15);
  EXPECT_EQ((*restored)->alert_history().size(), 1u);
  EXPECT_TRUE(observer.alerts().empty());
}

}  // namespace
}  // namespace mine
