#include "server/service/proto_convert.h"

#include "absl/strings/str_cat.h"

namespace mine {
namespace {

// The API promises its enum numbers equal the core's; check it at compile time.
static_assert(static_cast<int>(EstimatorKind::kMine) == v1::MINE);
static_assert(static_cast<int>(EstimatorKind::kMineF) == v1::MINE_F);
static_assert(static_cast<int>(EstimatorKind::kInfoNce) == v1::INFONCE);
static_assert(static_cast<int>(EstimatorKind::kSmile) == v1::SMILE);
static_assert(static_cast<int>(Activation::kRelu) == v1::RELU);
static_assert(static_cast<int>(Activation::kElu) == v1::ELU);
static_assert(static_cast<int>(Activation::kTanh) == v1::TANH);
static_assert(static_cast<int>(MarginalSampling::kShuffleBatch) == v1::SHUFFLE_BATCH);
static_assert(static_cast<int>(MarginalSampling::kWindow) == v1::WINDOW);
static_assert(static_cast<int>(InputNormalization::kStandardize) == v1::STANDARDIZE);
static_assert(static_cast<int>(InputNormalization::kQuantile) == v1::QUANTILE);
static_assert(static_cast<int>(EstimateState::kWarmingUp) == v1::WARMING_UP);
static_assert(static_cast<int>(EstimateState::kTraining) == v1::TRAINING);
static_assert(static_cast<int>(EstimateState::kConverged) == v1::CONVERGED);
static_assert(static_cast<int>(EstimateState::kDivergedRecovered) == v1::DIVERGED_RECOVERED);
static_assert(static_cast<int>(AlertRules::Direction::kAbove) == v1::ABOVE);
static_assert(static_cast<int>(AlertRules::Direction::kBelow) == v1::BELOW);
static_assert(static_cast<int>(AlertEvent::Kind::kThresholdFiring) == v1::THRESHOLD_FIRING);
static_assert(static_cast<int>(AlertEvent::Kind::kThresholdResolved) == v1::THRESHOLD_RESOLVED);
static_assert(static_cast<int>(AlertEvent::Kind::kChange) == v1::CHANGE);

absl::Status UnknownEnum(absl::string_view field, int value, absl::string_view allowed) {
  return absl::InvalidArgumentError(absl::StrCat(field, " = ", value,
                                                  " is not a known value; use ", allowed));
}

// Unset rules stay off; ranges are checked by the core (ValidateAlertRules).
absl::StatusOr<AlertRules> FromProto(const v1::AlertRules& proto) {
  AlertRules rules;
  if (proto.has_threshold()) {
    const v1::ThresholdRule& threshold = proto.threshold();
    if (!v1::AlertDirection_IsValid(threshold.direction())) {
      return UnknownEnum("config.alert_rules.threshold.direction", threshold.direction(),
                         "ALERT_DIRECTION_UNSPECIFIED, ABOVE or BELOW");
    }
    rules.threshold_enabled = true;
    if (threshold.direction() != v1::ALERT_DIRECTION_UNSPECIFIED) {
      rules.direction = static_cast<AlertRules::Direction>(threshold.direction());
    }
    rules.threshold_nats = threshold.threshold_nats();
    rules.hysteresis_nats = threshold.hysteresis_nats();
  }
  if (proto.has_change()) {
    // In the core k = 0 means "off"; a change rule that is set must fire.
    if (proto.change().k() == 0) {
      return absl::InvalidArgumentError(
          "config.alert_rules.change.k = 0 is out of range: (0, 1000]; leave change unset "
          "to turn the rule off");
    }
    rules.change_k = proto.change().k();
    rules.reference_estimates = proto.change().reference_estimates();  // 0: default
  }
  return rules;
}

}  // namespace

absl::StatusOr<SessionConfig> FromProto(const v1::SessionConfig& proto) {
  if (!v1::Estimator_IsValid(proto.estimator())) {
    return UnknownEnum("config.estimator", proto.estimator(),
                       "ESTIMATOR_UNSPECIFIED, MINE, MINE_F, INFONCE or SMILE");
  }
  if (!v1::Activation_IsValid(proto.activation())) {
    return UnknownEnum("config.activation", proto.activation(),
                       "ACTIVATION_UNSPECIFIED, RELU, ELU or TANH");
  }
  if (!v1::MarginalSampling_IsValid(proto.marginal_sampling())) {
    return UnknownEnum("config.marginal_sampling", proto.marginal_sampling(),
                       "MARGINAL_SAMPLING_UNSPECIFIED, SHUFFLE_BATCH or WINDOW");
  }
  if (!v1::InputNormalization_IsValid(proto.input_normalization())) {
    return UnknownEnum("config.input_normalization", proto.input_normalization(),
                       "INPUT_NORMALIZATION_UNSPECIFIED, STANDARDIZE or QUANTILE");
  }
  SessionConfig config;
  config.x_dim = proto.x_dim();
  config.z_dim = proto.z_dim();
  config.estimator = static_cast<EstimatorKind>(proto.estimator());
  config.hidden_units.assign(proto.hidden_units().begin(), proto.hidden_units().end());
  config.activation = static_cast<Activation>(proto.activation());
  config.learning_rate = proto.learning_rate();
  config.batch_size = proto.batch_size();
  config.ema_rate = proto.ema_rate();
  config.window_size = proto.window_size();
  config.holdout_fraction = proto.holdout_fraction();
  config.seed = proto.seed();
  config.smile_clip = proto.smile_clip();
  config.marginal_sampling = static_cast<MarginalSampling>(proto.marginal_sampling());
  config.input_normalization = static_cast<InputNormalization>(proto.input_normalization());
  absl::StatusOr<AlertRules> rules = FromProto(proto.alert_rules());
  if (!rules.ok()) return rules.status();
  config.alert_rules = *rules;
  return config;
}

void ToProto(const SessionConfig& config, v1::SessionConfig* proto) {
  proto->Clear();
  proto->set_x_dim(config.x_dim);
  proto->set_z_dim(config.z_dim);
  proto->set_estimator(static_cast<v1::Estimator>(config.estimator));
  for (int units : config.hidden_units) proto->add_hidden_units(units);
  proto->set_activation(static_cast<v1::Activation>(config.activation));
  proto->set_learning_rate(config.learning_rate);
  proto->set_batch_size(config.batch_size);
  proto->set_ema_rate(config.ema_rate);
  proto->set_window_size(config.window_size);
  proto->set_holdout_fraction(config.holdout_fraction);
  proto->set_seed(config.seed);
  proto->set_smile_clip(config.smile_clip);
  proto->set_marginal_sampling(static_cast<v1::MarginalSampling>(config.marginal_sampling));
  proto->set_input_normalization(
      static_cast<v1::InputNormalization>(config.input_normalization));
  const AlertRules& rules = config.alert_rules;
  if (rules.threshold_enabled) {
    v1::ThresholdRule* threshold = proto->mutable_alert_rules()->mutable_threshold();
    threshold->set_direction(static_cast<v1::AlertDirection>(rules.direction));
    threshold->set_threshold_nats(rules.threshold_nats);
    threshold->set_hysteresis_nats(rules.hysteresis_nats);
  }
  if (rules.change_k > 0) {
    v1::ChangeRule* change = proto->mutable_alert_rules()->mutable_change();
    change->set_k(rules.change_k);
    change->set_reference_estimates(rules.reference_estimates);
  }
}

void ToProto(const AlertEvent& alert, v1::Alert* proto) {
  proto->set_kind(static_cast<v1::AlertKind>(alert.kind));
  proto->set_mi_nats(alert.mi_nats);
  proto->set_reference_nats(alert.reference_nats);
  proto->set_samples_seen(alert.samples_seen);
  proto->set_estimate_version(alert.estimate_version);
  ToProto(alert.time, proto->mutable_time());
  proto->set_message(alert.message);
}

void ToProto(const Estimate& estimate, absl::string_view session_id, v1::Estimate* proto) {
  proto->Clear();
  proto->set_session_id(std::string(session_id));
  proto->set_mi_nats(estimate.mi_nats);
  proto->set_mi_bits(estimate.mi_bits());
  proto->set_std_error_nats(estimate.std_error_nats);
  proto->set_ci_low_nats(estimate.ci_low_nats);
  proto->set_ci_high_nats(estimate.ci_high_nats);
  proto->set_samples_seen(estimate.samples_seen);
  proto->set_train_steps(estimate.train_steps);
  proto->set_estimator(static_cast<v1::Estimator>(estimate.estimator));
  proto->set_state(static_cast<v1::EstimateState>(estimate.state));
  ToProto(estimate.computed_at, proto->mutable_computed_at());
  proto->set_last_sequence(estimate.last_sequence);
  proto->set_cap_nats(estimate.cap_nats);
  proto->set_evaluation_rows(estimate.evaluation_rows);
  proto->set_divergence_recoveries(estimate.divergence_recoveries);
  proto->set_learning_rate(estimate.learning_rate);
  proto->set_version(estimate.version);
  for (const AlertEvent& alert : estimate.alerts) ToProto(alert, proto->add_alerts());
}

void ToProto(const Session& session, v1::Session* proto) {
  proto->Clear();
  const SessionStatus status = session.status();
  proto->set_session_id(session.id());
  ToProto(session.config(), proto->mutable_config());
  proto->set_samples_seen(status.samples_seen);
  proto->set_train_steps(status.train_steps);
  ToProto(status.created_at, proto->mutable_created_at());
  ToProto(status.updated_at, proto->mutable_updated_at());
  ToProto(status.latest, session.id(), proto->mutable_latest());
  proto->set_pending_rows(status.pending_rows);
  proto->set_last_sequence(status.last_sequence);
  for (const AlertEvent& alert : session.alert_history()) ToProto(alert, proto->add_alerts());
  proto->set_alerts_total(status.alerts_total);
  proto->set_threshold_firing(status.threshold_firing);
  proto->set_change_armed(status.change_armed);
  if (status.change_armed) proto->set_change_reference_nats(status.change_reference_nats);
}

void ToProto(absl::Time time, google::protobuf::Timestamp* proto) {
  const int64_t nanos = absl::ToUnixNanos(time);
  int64_t seconds = nanos / 1000000000;
  int64_t rest = nanos % 1000000000;
  if (rest < 0) {  // Timestamp nanos are always non-negative
    rest += 1000000000;
    --seconds;
  }
  proto->set_seconds(seconds);
  proto->set_nanos(static_cast<int32_t>(rest));
}

}  // namespace mine
