// Dependence alerts end to end through an in-process MineServer with real
// training: a staged change of dependence fires the change rule once per
// change and arrives on WatchEstimates; a threshold with hysteresis near the
// converged value does not flap; alerts survive a restart and show in
// GetSession; bad rules are refused naming the field.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/core/alert_evaluator.h"
#include "tests/server/service/test_util.h"

namespace mine {
namespace {

using service_testing::GaussianBatch;
using service_testing::ServiceTest;
using service_testing::SmallConfig;
using service_testing::TestOptions;

// Reads a WatchEstimates call on its own thread and keeps every alert.
class AlertWatcher {
 public:
  AlertWatcher(v1::MineService::Stub* stub, const std::string& session_id, int min_interval_ms) {
    v1::WatchEstimatesRequest request;
    request.set_session_id(session_id);
    request.set_min_interval_ms(min_interval_ms);
    reader_ = stub->WatchEstimates(&context_, request);
    thread_ = std::thread([this] {
      v1::Estimate estimate;
      while (reader_->Read(&estimate)) {
        absl::MutexLock lock(&mu_);
        ++messages_;
        for (const v1::Alert& alert : estimate.alerts()) {
          // An alert never comes from an estimate newer than its message.
          EXPECT_LE(alert.estimate_version(), estimate.version());
          carried_ += alert.estimate_version() < estimate.version();
          alerts_.push_back(alert);
        }
      }
    });
  }
  ~AlertWatcher() {
    context_.TryCancel();
    thread_.join();
    reader_->Finish().IgnoreError();
  }

  std::vector<v1::Alert> alerts() const {
    absl::MutexLock lock(&mu_);
    return alerts_;
  }
  int messages() const {
    absl::MutexLock lock(&mu_);
    return messages_;
  }
  // Alerts that came with a later estimate than the one that raised them.
  int carried() const {
    absl::MutexLock lock(&mu_);
    return carried_;
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::Estimate>> reader_;
  std::thread thread_;
  mutable absl::Mutex mu_;
  std::vector<v1::Alert> alerts_ ABSL_GUARDED_BY(mu_);
  int messages_ ABSL_GUARDED_BY(mu_) = 0;
  int carried_ ABSL_GUARDED_BY(mu_) = 0;
};

int Count(const std::vector<v1::Alert>& alerts, v1::AlertKind kind) {
  return static_cast<int>(std::count_if(alerts.begin(), alerts.end(),
                                        [kind](const v1::Alert& a) { return a.kind() == kind; }));
}

class DependenceAlertsTest : public ServiceTest {
 protected:
  v1::Session Get(const std::string& id) {
    grpc::ClientContext context;
    v1::GetSessionRequest request;
    request.set_session_id(id);
    v1::Session session;
    EXPECT_TRUE(stub_->GetSession(&context, request, &session).ok());
    return session;
  }

  // Pushes `rows` rows of a 2+2-dim Gaussian with correlation `rho` and
  // waits for the estimate that reflects them.
  void PushAndWait(const std::string& id, int64_t rows, double rho, uint64_t seed) {
    grpc::ClientContext context;
    v1::PushSamplesResponse response;
    ASSERT_TRUE(stub_->PushSamples(&context, GaussianBatch(id, rows, 2, seed, rho), &response)
                    .ok());
    absl::StatusOr<std::shared_ptr<Session>> session = server_->manager().Get(id);
    ASSERT_TRUE(session.ok());
    ASSERT_TRUE((*session)->WaitForEstimate(response.samples_seen(), absl::Seconds(60)));
  }

  // Streams data of one dependence until the session has converged on it and
  // its change rule, if it has one, has settled on a reference (more rows
  // re-open training when it converged first). Returns the reference.
  double SettleAt(const std::string& id, double rho, uint64_t* seed) {
    PushAndWait(id, 4096, rho, (*seed)++);  // a whole window of the new data
    for (int round = 0; round < 40; ++round) {
      absl::StatusOr<std::shared_ptr<Session>> session = server_->manager().Get(id);
      EXPECT_TRUE(session.ok());
      if (!session.ok()) return 0;
      // Training runs on the pool: wait (bounded) for it to converge.
      const absl::Time deadline = absl::Now() + absl::Seconds(30);
      while ((*session)->latest_estimate().state != EstimateState::kConverged &&
             absl::Now() < deadline) {
        absl::SleepFor(absl::Milliseconds(20));
      }
      const SessionStatus status = (*session)->status();
      const bool change_rule = (*session)->config().alert_rules.change_k > 0;
      if (status.latest.state == EstimateState::kConverged &&
          (status.change_armed || !change_rule)) {
        return status.change_reference_nats;
      }
      PushAndWait(id, 256, rho, (*seed)++);
    }
    ADD_FAILURE() << "session " << id << " did not settle at rho " << rho;
    return 0;
  }
};

// Independent data, then strongly dependent (rho 0.9, d = 2: true MI 1.66
// nats), then independent again: two changes, each fires once, and the
// watcher, paced at 100 ms so estimates are coalesced, gets both.
TEST_F(DependenceAlertsTest, StagedChangesFireTheChangeRuleOncePerChangeOnWatchEstimates) {
  StartServer();
  v1::SessionConfig config = SmallConfig(2);
  config.mutable_alert_rules()->mutable_change()->set_k(6);
  ASSERT_TRUE(Create("staged", config).ok());
  AlertWatcher watcher(stub_.get(), "staged", /*min_interval_ms=*/100);
  uint64_t seed = 100;

  const double independent = SettleAt("staged", 0.0, &seed);
  EXPECT_LT(independent, 0.1);
  EXPECT_EQ(Get("staged").alerts_total(), 0);

  const double dependent = SettleAt("staged", 0.9, &seed);
  EXPECT_GT(dependent, 1.0);
  SettleAt("staged", 0.0, &seed);

  const v1::Session session = Get("staged");
  ASSERT_EQ(session.alerts_size(), 2) << session.DebugString();
  EXPECT_EQ(session.alerts_total(), 2);
  EXPECT_EQ(session.alerts(0).kind(), v1::CHANGE);
  EXPECT_NEAR(session.alerts(0).reference_nats(), independent, 1e-9);
  EXPECT_GT(session.alerts(0).mi_nats(), independent);
  EXPECT_EQ(session.alerts(1).kind(), v1::CHANGE);
  EXPECT_NEAR(session.alerts(1).reference_nats(), dependent, 1e-9);
  EXPECT_LT(session.alerts(1).mi_nats(), dependent);
  EXPECT_LT(session.alerts(0).estimate_version(), session.alerts(1).estimate_version());
  RecordProperty("first_change", session.alerts(0).message());
  RecordProperty("second_change", session.alerts(1).message());

  // The watcher has them too: wait (bounded) for the paced write that
  // carries the second one, then compare.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (watcher.alerts().size() < 2 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  const std::vector<v1::Alert> watched = watcher.alerts();
  ASSERT_EQ(watched.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(watched[i].estimate_version(), session.alerts(i).estimate_version());
    EXPECT_EQ(watched[i].message(), session.alerts(i).message());
  }
  EXPECT_GT(watcher.messages(), 0);
}

// The estimates of a converged session that keeps receiving data wobble
// around their level. A threshold at that level flaps without hysteresis
// (shown by replaying the recorded estimates through the evaluator) and does
// not with a hysteresis of three standard errors, in a real session too.
TEST_F(DependenceAlertsTest, ThresholdWithHysteresisNearTheConvergedValueDoesNotFlap) {
  StartServer();
  ASSERT_TRUE(Create("recorded", SmallConfig(2)).ok());
  absl::StatusOr<std::shared_ptr<Session>> recorded = server_->manager().Get("recorded");
  ASSERT_TRUE(recorded.ok());
  absl::Mutex mu;
  std::vector<Estimate> estimates;
  bool recording = false;
  const int64_t subscription = (*recorded)->Subscribe(
      [&](const Estimate& e) {
        absl::MutexLock lock(&mu);
        if (recording) estimates.push_back(e);
      },
      [] {});
  uint64_t seed = 1;
  SettleAt("recorded", 0.8, &seed);
  {
    absl::MutexLock lock(&mu);
    recording = true;
  }
  for (int i = 0; i < 40; ++i) PushAndWait("recorded", 256, 0.8, 1000 + i);
  (*recorded)->Unsubscribe(subscription);

  absl::MutexLock lock(&mu);
  // At least one estimate a batch, but the newest may have been waited for
  // (it is the latest) before its callback ran.
  ASSERT_GE(estimates.size(), 39u);
  std::vector<double> values;
  double se = 0;
  for (const Estimate& e : estimates) {
    values.push_back(e.mi_nats);
    se += e.std_error_nats / estimates.size();
  }
  std::vector<double> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  const double level = sorted[sorted.size() / 2];  // the median: the line is crossed

  AlertRules rules;
  rules.threshold_enabled = true;
  rules.threshold_nats = level;
  auto firings = [&](const AlertRules& r, const std::vector<Estimate>& sequence) {
    AlertEvaluator evaluator(r);
    int count = 0;
    for (const Estimate& e : sequence) {
      for (const AlertEvent& a : evaluator.Observe(e)) {
        count += a.kind == AlertEvent::Kind::kThresholdFiring;
      }
    }
    return count;
  };
  const int without = firings(rules, estimates);
  EXPECT_GE(without, 2) << "no flapping to prevent: level " << level;
  rules.hysteresis_nats = 3 * se;
  EXPECT_LE(firings(rules, estimates), 1);
  RecordProperty("recorded", absl::StrCat(estimates.size(), " estimates from ", sorted.front(),
                                          " to ", sorted.back(), " nats, se ", se, ", line ",
                                          level, ": ", without, " firings without hysteresis"));

  // A real session with that rule, fed the same way: one firing at most.
  v1::SessionConfig config = SmallConfig(2);
  v1::ThresholdRule* threshold = config.mutable_alert_rules()->mutable_threshold();
  threshold->set_direction(v1::ABOVE);
  threshold->set_threshold_nats(level);
  threshold->set_hysteresis_nats(3 * se);
  ASSERT_TRUE(Create("hysteresis", config).ok());
  seed = 1;
  SettleAt("hysteresis", 0.8, &seed);
  for (int i = 0; i < 40; ++i) PushAndWait("hysteresis", 256, 0.8, 1000 + i);
  const v1::Session session = Get("hysteresis");
  EXPECT_LE(Count({session.alerts().begin(), session.alerts().end()}, v1::THRESHOLD_FIRING), 1)
      << session.DebugString();
  EXPECT_EQ(session.alerts_total(), session.alerts_size());
}

// A watcher paced at 500 ms while estimates come every few tens of ms sees
// only some estimates, but every alert: a threshold without hysteresis at
// the level a session settles at raises many, and the watcher's list equals
// the session's history.
TEST_F(DependenceAlertsTest, PacedWatcherGetsEveryAlertOfTheEstimatesItSkips) {
  StartServer();
  ASSERT_TRUE(Create("level", SmallConfig(2)).ok());
  uint64_t seed = 1;
  SettleAt("level", 0.8, &seed);
  absl::StatusOr<std::shared_ptr<Session>> level = server_->manager().Get("level");
  ASSERT_TRUE(level.ok());
  v1::SessionConfig config = SmallConfig(2);
  config.mutable_alert_rules()->mutable_threshold()->set_threshold_nats(
      (*level)->latest_estimate().mi_nats);
  ASSERT_TRUE(Create("flapping", config).ok());
  {
    AlertWatcher watcher(stub_.get(), "flapping", /*min_interval_ms=*/500);
    seed = 1;
    SettleAt("flapping", 0.8, &seed);
    for (int i = 0; i < 40; ++i) PushAndWait("flapping", 256, 0.8, 1000 + i);
    const v1::Session session = Get("flapping");
    ASSERT_GE(session.alerts_size(), 1);
    // Wait (bounded) for the paced write that carries the newest alert.
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (static_cast<int>(watcher.alerts().size()) < session.alerts_size() &&
           absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    // Training goes on after the pushes, so newer alerts may follow those
    // GetSession showed: the watcher has at least those, in order.
    const std::vector<v1::Alert> watched = watcher.alerts();
    ASSERT_GE(static_cast<int>(watched.size()), session.alerts_size());
    for (int i = 0; i < session.alerts_size(); ++i) {
      EXPECT_EQ(watched[i].estimate_version(), session.alerts(i).estimate_version());
      EXPECT_EQ(watched[i].kind(), session.alerts(i).kind());
    }
    EXPECT_LT(watcher.messages(), static_cast<int>(session.latest().version()));  // it skipped
    RecordProperty("paced", absl::StrCat(session.alerts_size(), " alerts, ",
                                         watcher.messages(), " messages for ",
                                         session.latest().version(), " estimates, ",
                                         watcher.carried(), " alerts carried by a later estimate"));
  }
}

// A watcher paced far apart still gets the alerts held for its next write
// when the call ends (here: the session is deleted) before that write.
TEST_F(DependenceAlertsTest, AlertsHeldByPacingGoOutBeforeTheWatchEnds) {
  StartServer();
  v1::SessionConfig config = SmallConfig(2);
  config.mutable_alert_rules()->mutable_threshold()->set_threshold_nats(0.3);
  ASSERT_TRUE(Create("ending", config).ok());
  AlertWatcher watcher(stub_.get(), "ending", /*min_interval_ms=*/3'600'000);
  uint64_t seed = 1;
  SettleAt("ending", 0.8, &seed);  // 1.02 nats: above the line
  const v1::Session session = Get("ending");
  ASSERT_GE(session.alerts_size(), 1);
  {
    grpc::ClientContext context;
    v1::DeleteSessionRequest request;
    request.set_session_id("ending");
    v1::DeleteSessionResponse response;
    ASSERT_TRUE(stub_->DeleteSession(&context, request, &response).ok());
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (static_cast<int>(watcher.alerts().size()) < session.alerts_size() &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  // Training went on after the Get, so more may have followed.
  EXPECT_GE(static_cast<int>(watcher.alerts().size()), session.alerts_size());
}

// Alerts are part of the session's state: after a graceful restart on the
// same state dir, GetSession shows the same history and firing state, and
// the rule does not fire again for the same crossing.
TEST_F(DependenceAlertsTest, AlertsSurviveARestartAndShowInGetSession) {
  const std::string state_dir = absl::StrCat("/tmp/mine-alerts-test-", getpid());
  std::filesystem::remove_all(state_dir);
  MineServerOptions options = TestOptions();
  options.manager.persistence.state_dir = state_dir;
  StartServer(options);
  v1::SessionConfig config = SmallConfig(2);
  v1::ThresholdRule* threshold = config.mutable_alert_rules()->mutable_threshold();
  threshold->set_threshold_nats(0.3);
  threshold->set_hysteresis_nats(0.2);
  config.mutable_alert_rules()->mutable_change()->set_k(6);
  ASSERT_TRUE(Create("durable", config).ok());
  uint64_t seed = 1;
  SettleAt("durable", 0.8, &seed);
  const v1::Session before = Get("durable");
  ASSERT_TRUE(before.threshold_firing());
  ASSERT_EQ(Count({before.alerts().begin(), before.alerts().end()}, v1::THRESHOLD_FIRING), 1);

  server_->Shutdown(absl::Seconds(5));
  server_.reset();
  StartServer(options);
  const v1::Session after = Get("durable");
  EXPECT_EQ(after.config().alert_rules().DebugString(), before.config().alert_rules().DebugString());
  EXPECT_TRUE(after.threshold_firing());
  EXPECT_EQ(after.change_armed(), before.change_armed());
  EXPECT_EQ(after.change_reference_nats(), before.change_reference_nats());
  EXPECT_EQ(after.alerts_total(), before.alerts_total());
  ASSERT_EQ(after.alerts_size(), before.alerts_size());
  for (int i = 0; i < after.alerts_size(); ++i) {
    EXPECT_EQ(after.alerts(i).DebugString(), before.alerts(i).DebugString());
  }
  // Re-creating it with the same rules is idempotent; with others it is not.
  EXPECT_TRUE(Create("durable", config).ok());
  v1::SessionConfig other = config;
  other.mutable_alert_rules()->mutable_threshold()->set_threshold_nats(0.4);
  EXPECT_EQ(Create("durable", other).error_code(), grpc::StatusCode::ALREADY_EXISTS);

  // More of the same data after the restart: still one firing.
  for (int i = 0; i < 10; ++i) PushAndWait("durable", 256, 0.8, 500 + i);
  const v1::Session later = Get("durable");
  EXPECT_EQ(Count({later.alerts().begin(), later.alerts().end()}, v1::THRESHOLD_FIRING), 1);
  server_->Shutdown(absl::Seconds(5));
  server_.reset();
  std::filesystem::remove_all(state_dir);
}

TEST_F(DependenceAlertsTest, InvalidRulesAreRefusedNamingTheField) {
  StartServer();
  struct Case {
    const char* field;
    void (*mutate)(v1::AlertRules*);
  };
  const Case cases[] = {
      {"config.alert_rules.threshold.hysteresis_nats",
       [](v1::AlertRules* r) { r->mutable_threshold()->set_hysteresis_nats(-0.1); }},
      {"config.alert_rules.threshold.threshold_nats",
       [](v1::AlertRules* r) {
         r->mutable_threshold()->set_threshold_nats(std::numeric_limits<double>::infinity());
       }},
      {"config.alert_rules.threshold.direction",
       [](v1::AlertRules* r) {
         r->mutable_threshold()->set_direction(static_cast<v1::AlertDirection>(7));
       }},
      {"config.alert_rules.change.k", [](v1::AlertRules* r) { r->mutable_change(); }},
      {"config.alert_rules.change.k", [](v1::AlertRules* r) { r->mutable_change()->set_k(-3); }},
      {"config.alert_rules.change.reference_estimates",
       [](v1::AlertRules* r) {
         r->mutable_change()->set_k(4);
         r->mutable_change()->set_reference_estimates(5000);
       }},
  };
  for (const Case& bad : cases) {
    v1::SessionConfig config = SmallConfig(1);
    bad.mutate(config.mutable_alert_rules());
    const grpc::Status status = Create("bad", config);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad.field;
    EXPECT_NE(status.error_message().find(bad.field), std::string::npos)
        << status.error_message();
  }
  // Nothing was created by the refusals; a valid rule set is echoed back.
  v1::SessionConfig config = SmallConfig(1);
  config.mutable_alert_rules()->mutable_threshold()->set_threshold_nats(0.5);
  config.mutable_alert_rules()->mutable_change()->set_k(4);
  v1::Session session;
  ASSERT_TRUE(Create("good", config, &session).ok());
  const v1::AlertRules& rules = session.config().alert_rules();
  EXPECT_EQ(rules.threshold().direction(), v1::ABOVE);
  EXPECT_EQ(rules.threshold().threshold_nats(), 0.5);
  EXPECT_EQ(rules.change().k(), 4);
  EXPECT_EQ(rules.change().reference_estimates(), 5);
  EXPECT_FALSE(session.threshold_firing());
  EXPECT_FALSE(session.change_armed());
}

}  // namespace
}  // namespace mine
