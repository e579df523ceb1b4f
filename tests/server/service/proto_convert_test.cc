#include "server/service/proto_convert.h"

#include <cmath>
#include <string>

#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace mine {
namespace {

TEST(ProtoConvertTest, ConfigRoundTrips) {
  SessionConfig config;
  config.x_dim = 3;
  config.z_dim = 5;
  config.estimator = EstimatorKind::kSmile;
  config.hidden_units = {16, 8};
  config.activation = Activation::kTanh;
  config.learning_rate = 0.002;
  config.batch_size = 32;
  config.ema_rate = 0.05;
  config.window_size = 1000;
  config.holdout_fraction = 0.25;
  config.seed = 99;
  config.smile_clip = 3;
  config.marginal_sampling = MarginalSampling::kWindow;
  config.input_normalization = InputNormalization::kStandardize;
  v1::SessionConfig proto;
  ToProto(config, &proto);
  EXPECT_EQ(proto.estimator(), v1::SMILE);
  absl::StatusOr<SessionConfig> back = FromProto(proto);
  ASSERT_OK(back);
  EXPECT_EQ(*back, config);
}

TEST(ProtoConvertTest, UnknownEnumNumbersAreInvalidArgumentNamingTheField) {
  v1::SessionConfig proto;
  proto.set_marginal_sampling(static_cast<v1::MarginalSampling>(9));
  absl::StatusOr<SessionConfig> config = FromProto(proto);
  EXPECT_STATUS_CODE(config, absl::StatusCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find("config.marginal_sampling = 9"), std::string::npos);
  v1::SessionConfig bad_inputs;
  bad_inputs.set_input_normalization(static_cast<v1::InputNormalization>(5));
  EXPECT_NE(FromProto(bad_inputs).status().message().find("config.input_normalization = 5"),
            std::string::npos);
}

TEST(ProtoConvertTest, EstimateCarriesBitsAndEveryField) {
  Estimate e;
  e.mi_nats = 1.5;
  e.std_error_nats = 0.1;
  e.ci_low_nats = 1.3;
  e.ci_high_nats = 1.7;
  e.cap_nats = std::log(64.0);
  e.samples_seen = 1000;
  e.train_steps = 200;
  e.last_sequence = 7;
  e.evaluation_rows = 300;
  e.divergence_recoveries = 1;
  e.learning_rate = 5e-4;
  e.estimator = EstimatorKind::kInfoNce;
  e.state = EstimateState::kDivergedRecovered;
  e.computed_at = absl::FromUnixMillis(1700000000123);
  e.version = 12;
  v1::Estimate proto;
  ToProto(e, "sid", &proto);
  EXPECT_EQ(proto.session_id(), "sid");
  EXPECT_DOUBLE_EQ(proto.mi_bits(), 1.5 / std::log(2.0));
  EXPECT_DOUBLE_EQ(proto.cap_nats(), std::log(64.0));
  EXPECT_EQ(proto.samples_seen(), 1000);
  EXPECT_EQ(proto.train_steps(), 200);
  EXPECT_EQ(proto.last_sequence(), 7);
  EXPECT_EQ(proto.evaluation_rows(), 300);
  EXPECT_EQ(proto.divergence_recoveries(), 1);
  EXPECT_DOUBLE_EQ(proto.learning_rate(), 5e-4);
  EXPECT_EQ(proto.estimator(), v1::INFONCE);
  EXPECT_EQ(proto.state(), v1::DIVERGED_RECOVERED);
  EXPECT_EQ(proto.computed_at().seconds(), 1700000000);
  EXPECT_EQ(proto.computed_at().nanos(), 123000000);
  EXPECT_EQ(proto.version(), 12u);
}

TEST(ProtoConvertTest, TimestampsBeforeTheEpochHaveNonNegativeNanos) {
  google::protobuf::Timestamp t;
  ToProto(absl::FromUnixMillis(-1), &t);
  EXPECT_EQ(t.seconds(), -1);
  EXPECT_EQ(t.nanos(), 999000000);
}

}  // namespace
}  // namespace mine
