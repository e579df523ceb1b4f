// AlertEvaluator on synthetic estimate sequences (no training): a staged
// change of dependence fires the change rule once; a threshold with
// hysteresis does not flap on noise around the line.
#include "server/core/alert_evaluator.h"

#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "server/core/internal/byte_io.h"
#include "tests/support/status_matchers.h"

namespace mine {
namespace {

Estimate At(double mi, double se = 0.02, EstimateState state = EstimateState::kTraining) {
  Estimate e;
  e.mi_nats = mi;
  e.std_error_nats = se;
  e.state = state;
  return e;
}

std::vector<AlertEvent> Feed(AlertEvaluator& alerts, const std::vector<double>& values) {
  std::vector<AlertEvent> all;
  for (double v : values) {
    for (AlertEvent& e : alerts.Observe(At(v))) all.push_back(std::move(e));
  }
  return all;
}

TEST(AlertEvaluatorTest, StagedChangeFiresTheChangeRuleOnce) {
  AlertRules rules;
  rules.change_k = 4;
  rules.reference_estimates = 5;
  AlertEvaluator alerts(rules);
  std::mt19937_64 rng(1);
  std::normal_distribution<double> noise(0, 0.02);  // one standard error
  std::vector<double> values;
  for (int i = 0; i < 40; ++i) values.push_back(0.5 + noise(rng));
  for (int i = 0; i < 40; ++i) values.push_back(1.5 + noise(rng));  // the stage
  std::vector<AlertEvent> events = Feed(alerts, values);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, AlertEvent::Kind::kChange);
  EXPECT_NEAR(events[0].reference_nats, 0.5, 0.05);
  EXPECT_NEAR(events[0].mi_nats, 1.5, 0.1);
}

// Training's climb towards the converged value (exponential approach, as a
// session's smoothed estimate moves) is not a change: the reference is only
// taken once the estimates have settled.
TEST(AlertEvaluatorTest, TrainingClimbIsNotAChange) {
  AlertRules rules;
  rules.change_k = 4;
  AlertEvaluator alerts(rules);
  std::vector<double> values;
  for (int i = 0; i < 60; ++i) values.push_back(1.0 - std::exp(-i / 6.0));
  EXPECT_TRUE(Feed(alerts, values).empty());
  EXPECT_TRUE(alerts.change_armed());
}

// A change followed by the climb to the new level fires once, not once per
// reference window along the climb.
TEST(AlertEvaluatorTest, ChangeFollowedByAClimbFiresOnce) {
  AlertRules rules;
  rules.change_k = 4;
  AlertEvaluator alerts(rules);
  std::vector<double> values(30, 0.01);
  for (int i = 1; i <= 60; ++i) values.push_back(0.01 + 1.5 * (1 - std::exp(-i / 8.0)));
  std::vector<AlertEvent> events = Feed(alerts, values);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_NEAR(events[0].reference_nats, 0.01, 1e-9);
  EXPECT_TRUE(alerts.change_armed());  // settled at the new level
}

// The same noise as ThresholdWithHysteresisDoesNotFlap, without hysteresis:
// every wobble across the line fires or resolves.
TEST(AlertEvaluatorTest, ThresholdWithoutHysteresisFlapsOnTheSameNoise) {
  AlertRules rules;
  rules.threshold_enabled = true;
  rules.threshold_nats = 1.0;
  AlertEvaluator alerts(rules);
  std::vector<AlertEvent> events =
      Feed(alerts, {0.8, 0.95, 1.02, 0.97, 1.05, 0.93, 1.01, 0.96, 1.04});
  EXPECT_EQ(events.size(), 7u);
}

TEST(AlertEvaluatorTest, SavedStateContinuesIdentically) {
  AlertRules rules;
  rules.change_k = 4;
  rules.threshold_enabled = true;
  rules.threshold_nats = 0.3;
  std::mt19937_64 rng(3);
  std::normal_distribution<double> noise(0, 0.02);
  std::vector<double> before, after;
  for (int i = 0; i < 8; ++i) before.push_back(0.5 + noise(rng));  // mid-settling
  for (int i = 0; i < 30; ++i) after.push_back((i < 10 ? 0.5 : 1.5) + noise(rng));
  AlertEvaluator original(rules);
  Feed(original, before);
  internal::ByteWriter w;
  original.SaveTo(&w);
  AlertEvaluator restored(rules);
  internal::ByteReader r(w.bytes());
  ASSERT_TRUE(restored.LoadFrom(&r));
  EXPECT_TRUE(r.done());
  EXPECT_TRUE(restored.threshold_firing());
  const std::vector<AlertEvent> a = Feed(original, after), b = Feed(restored, after);
  ASSERT_EQ(a.size(), b.size());
  ASSERT_EQ(a.size(), 1u);  // the change
  EXPECT_EQ(a[0].message, b[0].message);
}

TEST(AlertEvaluatorTest, WarmUpEstimatesAreIgnored) {
  AlertRules rules;
  rules.change_k = 3;
  rules.reference_estimates = 1;
  AlertEvaluator alerts(rules);
  EXPECT_TRUE(alerts.Observe(At(0.0, 0.02, EstimateState::kWarmingUp)).empty());
  EXPECT_TRUE(alerts.Observe(At(1.0)).empty());
  EXPECT_TRUE(alerts.Observe(At(1.005)).empty());  // settled: the reference
  EXPECT_TRUE(alerts.change_armed());
  EXPECT_EQ(alerts.Observe(At(1.5)).size(), 1u);
}

TEST(AlertEvaluatorTest, ThresholdWithHysteresisDoesNotFlap) {
  AlertRules rules;
  rules.threshold_enabled = true;
  rules.direction = AlertRules::Direction::kAbove;
  rules.threshold_nats = 1.0;
  rules.hysteresis_nats = 0.1;
  AlertEvaluator alerts(rules);
  // Noise around the line: fires once, never resolves while within 0.1.
  std::vector<AlertEvent> events =
      Feed(alerts, {0.8, 0.95, 1.02, 0.97, 1.05, 0.93, 1.01, 0.96, 1.04});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, AlertEvent::Kind::kThresholdFiring);
  EXPECT_DOUBLE_EQ(events[0].mi_nats, 1.02);
  EXPECT_TRUE(alerts.threshold_firing());
  // Clearly below threshold - hysteresis: resolves once, then stays quiet.
  events = Feed(alerts, {0.85, 0.8, 0.95, 0.99});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, AlertEvent::Kind::kThresholdResolved);
  EXPECT_FALSE(alerts.threshold_firing());
}

TEST(AlertEvaluatorTest, BelowThresholdFiresOnFalls) {
  AlertRules rules;
  rules.threshold_enabled = true;
  rules.direction = AlertRules::Direction::kBelow;
  rules.threshold_nats = 0.2;
  rules.hysteresis_nats = 0.05;
  AlertEvaluator alerts(rules);
  std::vector<AlertEvent> events = Feed(alerts, {0.5, 0.3, 0.15, 0.22, 0.18, 0.3});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, AlertEvent::Kind::kThresholdFiring);
  EXPECT_EQ(events[1].kind, AlertEvent::Kind::kThresholdResolved);
}

TEST(AlertEvaluatorTest, ValidatesRules) {
  AlertRules rules;
  EXPECT_OK(ValidateAlertRules(rules));
  rules.change_k = -1;
  EXPECT_STATUS_CODE(ValidateAlertRules(rules), absl::StatusCode::kInvalidArgument);
  rules = AlertRules();
  rules.threshold_enabled = true;
  rules.hysteresis_nats = -0.1;
  EXPECT_STATUS_CODE(ValidateAlertRules(rules), absl::StatusCode::kInvalidArgument);
  rules = AlertRules();
  rules.reference_estimates = 0;
  EXPECT_STATUS_CODE(ValidateAlertRules(rules), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mine
