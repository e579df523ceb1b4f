#include "server/core/session_config.h"

#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace mine {
namespace {

SessionConfig Dims(int x, int z) {
  SessionConfig c;
  c.x_dim = x;
  c.z_dim = z;
  return c;
}

TEST(SessionConfigTest, FillsEveryUnsetFieldWithItsDefault) {
  absl::StatusOr<SessionConfig> c = ResolveSessionConfig(Dims(3, 2), "s1");
  ASSERT_OK(c);
  const SessionConfig d = DefaultSessionConfig();
  EXPECT_EQ(c->x_dim, 3);
  EXPECT_EQ(c->z_dim, 2);
  EXPECT_EQ(c->estimator, EstimatorKind::kMine);
  EXPECT_EQ(c->hidden_units, d.hidden_units);
  EXPECT_EQ(c->activation, d.activation);
  EXPECT_EQ(c->learning_rate, d.learning_rate);
  EXPECT_EQ(c->batch_size, d.batch_size);
  EXPECT_EQ(c->ema_rate, 0.01);
  EXPECT_EQ(c->window_size, 65536);
  EXPECT_EQ(c->smile_clip, 5.0);
  EXPECT_NE(c->seed, 0u);
  EXPECT_EQ(c->marginal_sampling, MarginalSampling::kShuffleBatch);
}

TEST(SessionConfigTest, ResolvingTwiceChangesNothing) {
  absl::StatusOr<SessionConfig> once = ResolveSessionConfig(Dims(1, 1), "s1");
  ASSERT_OK(once);
  absl::StatusOr<SessionConfig> twice = ResolveSessionConfig(*once, "other-id");
  ASSERT_OK(twice);
  EXPECT_EQ(*once, *twice);
}

TEST(SessionConfigTest, SeedComesFromTheIdWhenUnset) {
  EXPECT_EQ(ResolveSessionConfig(Dims(1, 1), "a")->seed,
            ResolveSessionConfig(Dims(1, 1), "a")->seed);
  EXPECT_NE(ResolveSessionConfig(Dims(1, 1), "a")->seed,
            ResolveSessionConfig(Dims(1, 1), "b")->seed);
  SessionConfig explicit_seed = Dims(1, 1);
  explicit_seed.seed = 42;
  EXPECT_EQ(ResolveSessionConfig(explicit_seed, "a")->seed, 42u);
}

struct BadField {
  const char* field;
  void (*mutate)(SessionConfig&);
};

TEST(SessionConfigTest, NamesTheFieldThatIsOutOfRange) {
  const BadField cases[] = {
      {"x_dim", [](SessionConfig& c) { c.x_dim = 0; }},
      {"z_dim", [](SessionConfig& c) { c.z_dim = -1; }},
      {"x_dim", [](SessionConfig& c) { c.x_dim = 1 << 20; }},
      {"estimator", [](SessionConfig& c) { c.estimator = static_cast<EstimatorKind>(9); }},
      {"hidden_units[1]", [](SessionConfig& c) { c.hidden_units = {8, 0}; }},
      {"hidden_units", [](SessionConfig& c) { c.hidden_units = std::vector<int>(50, 8); }},
      {"learning_rate", [](SessionConfig& c) { c.learning_rate = -1; }},
      {"learning_rate", [](SessionConfig& c) { c.learning_rate = std::nan(""); }},
      {"batch_size", [](SessionConfig& c) { c.batch_size = 1; }},
      {"ema_rate", [](SessionConfig& c) { c.ema_rate = 2; }},
      {"holdout_fraction", [](SessionConfig& c) { c.holdout_fraction = 0.9; }},
      {"window_size", [](SessionConfig& c) { c.window_size = 10; }},
      {"window_size", [](SessionConfig& c) { c.x_dim = 4000; c.window_size = 1 << 22; }},
      {"smile_clip", [](SessionConfig& c) { c.smile_clip = -5; }},
      {"activation", [](SessionConfig& c) { c.activation = static_cast<Activation>(7); }},
      {"hidden_units", [](SessionConfig& c) { c.hidden_units = std::vector<int>(8, 4096); }},
      {"batch_size", [](SessionConfig& c) {
         c.estimator = EstimatorKind::kInfoNce;
         c.batch_size = 8192;
       }},
      {"alert_rules.threshold.hysteresis_nats", [](SessionConfig& c) {
         c.alert_rules.threshold_enabled = true;
         c.alert_rules.hysteresis_nats = -0.1;
       }},
      {"alert_rules.threshold.threshold_nats", [](SessionConfig& c) {
         c.alert_rules.threshold_enabled = true;
         c.alert_rules.threshold_nats = std::nan("");
       }},
      {"alert_rules.threshold.direction", [](SessionConfig& c) {
         c.alert_rules.threshold_enabled = true;
         c.alert_rules.direction = static_cast<AlertRules::Direction>(9);
       }},
      {"alert_rules.change.k", [](SessionConfig& c) { c.alert_rules.change_k = -2; }},
      {"alert_rules.change.reference_estimates",
       [](SessionConfig& c) { c.alert_rules.reference_estimates = 5000; }},
  };
  for (const BadField& bad : cases) {
    SessionConfig c = Dims(2, 2);
    bad.mutate(c);
    absl::StatusOr<SessionConfig> resolved = ResolveSessionConfig(c, "s");
    EXPECT_STATUS_CODE(resolved, absl::StatusCode::kInvalidArgument);
    EXPECT_NE(resolved.status().message().find(std::string("config.") + bad.field),
              std::string::npos)
        << resolved.status();
  }
}

TEST(SessionConfigTest, AlertRulesTakePartInTheIdentityOfAConfig) {
  absl::StatusOr<SessionConfig> plain = ResolveSessionConfig(Dims(2, 2), "s");
  SessionConfig alerting = Dims(2, 2);
  alerting.alert_rules.change_k = 3;
  alerting.alert_rules.reference_estimates = 0;  // the default
  absl::StatusOr<SessionConfig> resolved = ResolveSessionConfig(alerting, "s");
  ASSERT_OK(plain);
  ASSERT_OK(resolved);
  EXPECT_EQ(resolved->alert_rules.reference_estimates, AlertRules::kDefaultReferenceEstimates);
  EXPECT_NE(*plain, *resolved);
  EXPECT_NE(DescribeConfig(*resolved).find("alert_change_k=3"), std::string::npos);
}

TEST(SessionConfigTest, ParsesEstimatorNamesCaseInsensitively) {
  EXPECT_EQ(*ParseEstimator("mine_f"), EstimatorKind::kMineF);
  EXPECT_EQ(*ParseEstimator("InfoNCE"), EstimatorKind::kInfoNce);
  EXPECT_STATUS_CODE(ParseEstimator("ksg"), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mine
