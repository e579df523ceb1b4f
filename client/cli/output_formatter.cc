#include "client/cli/output_formatter.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"

namespace mine::cli {
namespace {

std::string Quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

std::string Number(double value) { return absl::StrFormat("%.6g", value); }

std::string Time(const google::protobuf::Timestamp& t) {
  return absl::FormatTime(absl::RFC3339_full, absl::FromUnixSeconds(t.seconds()) +
                                                  absl::Nanoseconds(t.nanos()),
                          absl::UTCTimeZone());
}

const char kEstimateCsvHeader[] =
    "session_id,mi_nats,mi_bits,std_error_nats,ci_low_nats,ci_high_nats,samples_seen,"
    "train_steps,estimator,state,evaluation_rows,cap_nats,version,computed_at\n";
const char kSessionCsvHeader[] =
    "session_id,x_dim,z_dim,estimator,hidden_units,learning_rate,batch_size,window_size,"
    "holdout_fraction,seed,samples_seen,train_steps,pending_rows,last_sequence,state,mi_nats,"
    "std_error_nats\n";

const char kAlertCsvHeader[] =
    "alert,session_id,mi_nats,reference_nats,samples_seen,estimate_version,time,message\n";

}  // namespace

absl::StatusOr<OutputFormat> OutputFormatter::ParseFormat(const std::string& format) {
  if (format.empty()) return isatty(STDOUT_FILENO) ? OutputFormat::kText : OutputFormat::kJson;
  if (format == "text") return OutputFormat::kText;
  if (format == "json") return OutputFormat::kJson;
  if (format == "csv") return OutputFormat::kCsv;
  return absl::InvalidArgumentError(
      absl::StrCat("--output must be json, csv or text, got '", format, "'"));
}

OutputFormatter::OutputFormatter(OutputFormat format)
    : format_(format),
      live_(format == OutputFormat::kText && isatty(STDOUT_FILENO)),
      start_(absl::Now()) {}

void OutputFormatter::Emit(const std::string& text) {
  if (progress_open_) {
    std::fputs("\r\033[K", stdout);
    progress_open_ = false;
  }
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
}

void OutputFormatter::PrintEstimate(const v1::Estimate& e) {
  absl::MutexLock lock(&mu_);
  const std::string estimator = v1::Estimator_Name(e.estimator());
  const std::string state = v1::EstimateState_Name(e.state());
  switch (format_) {
    case OutputFormat::kJson:
      Emit(absl::StrCat(
          "{\"session_id\":", Quoted(e.session_id()), ",\"mi_nats\":", Number(e.mi_nats()),
          ",\"mi_bits\":", Number(e.mi_bits()), ",\"std_error_nats\":",
          Number(e.std_error_nats()), ",\"ci_low_nats\":", Number(e.ci_low_nats()),
          ",\"ci_high_nats\":", Number(e.ci_high_nats()), ",\"samples_seen\":", e.samples_seen(),
          ",\"train_steps\":", e.train_steps(), ",\"estimator\":", Quoted(estimator),
          ",\"state\":", Quoted(state), ",\"evaluation_rows\":", e.evaluation_rows(),
          ",\"cap_nats\":", Number(e.cap_nats()), ",\"version\":", e.version(),
          ",\"computed_at\":", Quoted(Time(e.computed_at())), "}\n"));
      break;
    case OutputFormat::kCsv:
      if (!estimate_header_) Emit(kEstimateCsvHeader);
      estimate_header_ = true;
      Emit(absl::StrCat(e.session_id(), ",", Number(e.mi_nats()), ",", Number(e.mi_bits()), ",",
                        Number(e.std_error_nats()), ",", Number(e.ci_low_nats()), ",",
                        Number(e.ci_high_nats()), ",", e.samples_seen(), ",", e.train_steps(),
                        ",", estimator, ",", state, ",", e.evaluation_rows(), ",",
                        Number(e.cap_nats()), ",", e.version(), ",", Time(e.computed_at()),
                        "\n"));
      break;
    case OutputFormat::kText:
      Emit(absl::StrFormat("%s  MI %.4f ± %.4f nats (%.4f bits)  95%% CI [%.4f, %.4f]  %s  "
                           "%d rows  %d steps\n",
                           e.session_id(), e.mi_nats(), e.std_error_nats(), e.mi_bits(),
                           e.ci_low_nats(), e.ci_high_nats(), state, e.samples_seen(),
                           e.train_steps()));
      break;
  }
}

void OutputFormatter::PrintAlert(const std::string& session_id, const v1::Alert& a) {
  absl::MutexLock lock(&mu_);
  const std::string kind = v1::AlertKind_Name(a.kind());
  switch (format_) {
    case OutputFormat::kJson:
      Emit(absl::StrCat("{\"alert\":", Quoted(kind), ",\"session_id\":", Quoted(session_id),
                        ",\"mi_nats\":", Number(a.mi_nats()),
                        ",\"reference_nats\":", Number(a.reference_nats()),
                        ",\"samples_seen\":", a.samples_seen(),
                        ",\"estimate_version\":", a.estimate_version(),
                        ",\"time\":", Quoted(Time(a.time())),
                        ",\"message\":", Quoted(a.message()), "}\n"));
      break;
    case OutputFormat::kCsv:
      if (!alert_header_) Emit(kAlertCsvHeader);
      alert_header_ = true;
      Emit(absl::StrCat(kind, ",", session_id, ",", Number(a.mi_nats()), ",",
                        Number(a.reference_nats()), ",", a.samples_seen(), ",",
                        a.estimate_version(), ",", Time(a.time()), ",", Quoted(a.message()),
                        "\n"));
      break;
    case OutputFormat::kText:
      Emit(absl::StrCat("ALERT ", kind, "  ", session_id, "  ", a.message(), "  (",
                        a.samples_seen(), " rows, estimate ", a.estimate_version(), ")\n"));
      break;
  }
}

void OutputFormatter::PrintSession(const v1::Session& s) {
  absl::MutexLock lock(&mu_);
  const v1::SessionConfig& c = s.config();
  const std::string estimator = v1::Estimator_Name(c.estimator());
  const std::string state = v1::EstimateState_Name(s.latest().state());
  switch (format_) {
    case OutputFormat::kJson:
      Emit(absl::StrCat(
          "{\"session_id\":", Quoted(s.session_id()), ",\"x_dim\":", c.x_dim(),
          ",\"z_dim\":", c.z_dim(), ",\"estimator\":", Quoted(estimator), ",\"hidden_units\":[",
          absl::StrJoin(c.hidden_units(), ","), "],\"learning_rate\":",
          Number(c.learning_rate()), ",\"batch_size\":", c.batch_size(),
          ",\"window_size\":", c.window_size(), ",\"holdout_fraction\":",
          Number(c.holdout_fraction()), ",\"seed\":", c.seed(),
          ",\"samples_seen\":", s.samples_seen(), ",\"train_steps\":", s.train_steps(),
          ",\"pending_rows\":", s.pending_rows(), ",\"last_sequence\":", s.last_sequence(),
          ",\"state\":", Quoted(state), ",\"mi_nats\":", Number(s.latest().mi_nats()),
          ",\"std_error_nats\":", Number(s.latest().std_error_nats()),
          ",\"activation\":", Quoted(v1::Activation_Name(c.activation())),
          ",\"marginal_sampling\":", Quoted(v1::MarginalSampling_Name(c.marginal_sampling())),
          ",\"input_normalization\":",
          Quoted(v1::InputNormalization_Name(c.input_normalization())),
          ",\"alerts_total\":", s.alerts_total(),
          ",\"threshold_firing\":", s.threshold_firing() ? "true" : "false",
          ",\"created_at\":", Quoted(Time(s.created_at())), "}\n"));
      break;
    case OutputFormat::kCsv:
      if (!session_header_) Emit(kSessionCsvHeader);
      session_header_ = true;
      Emit(absl::StrCat(s.session_id(), ",", c.x_dim(), ",", c.z_dim(), ",", estimator, ",",
                        absl::StrJoin(c.hidden_units(), ";"), ",", Number(c.learning_rate()),
                        ",", c.batch_size(), ",", c.window_size(), ",",
                        Number(c.holdout_fraction()), ",", c.seed(), ",", s.samples_seen(), ",",
                        s.train_steps(), ",", s.pending_rows(), ",", s.last_sequence(), ",",
                        state, ",", Number(s.latest().mi_nats()), ",",
                        Number(s.latest().std_error_nats()), "\n"));
      break;
    case OutputFormat::kText:
      Emit(absl::StrFormat(
          "%s  x_dim %d  z_dim %d  %s  hidden [%s]  batch %d  window %d  %d rows  %d steps  "
          "MI %.4f ± %.4f nats  %s\n",
          s.session_id(), c.x_dim(), c.z_dim(), estimator, absl::StrJoin(c.hidden_units(), ","),
          c.batch_size(), c.window_size(), s.samples_seen(), s.train_steps(),
          s.latest().mi_nats(), s.latest().std_error_nats(), state));
      break;
  }
}

void OutputFormatter::PrintHealth(const std::string& service, const std::string& status) {
  absl::MutexLock lock(&mu_);
  const std::string name = service.empty() ? "(server)" : service;
  switch (format_) {
    case OutputFormat::kJson:
      Emit(absl::StrCat("{\"service\":", Quoted(service), ",\"status\":", Quoted(status), "}\n"));
      break;
    case OutputFormat::kCsv:
      Emit(absl::StrCat("service,status\n", service, ",", status, "\n"));
      break;
    case OutputFormat::kText:
      Emit(absl::StrCat(name, ": ", status, "\n"));
      break;
  }
}

void OutputFormatter::Progress(int64_t rows_sent, int64_t total_rows,
                               const v1::Estimate* estimate) {
  if (!live_) return;
  absl::MutexLock lock(&mu_);
  const double seconds = std::max(1e-3, absl::ToDoubleSeconds(absl::Now() - start_));
  std::string line;
  if (total_rows > 0) {
    constexpr int kWidth = 24;
    const double done = std::min(1.0, static_cast<double>(rows_sent) / total_rows);
    const int filled = static_cast<int>(done * kWidth);
    line = absl::StrFormat("[%s%s] %3.0f%%  ", std::string(filled, '#'),
                           std::string(kWidth - filled, '.'), 100 * done);
  }
  absl::StrAppendFormat(&line, "%d rows sent  %.0f rows/s", rows_sent, rows_sent / seconds);
  if (estimate != nullptr) {
    absl::StrAppendFormat(&line, "  MI %.4f ± %.4f nats  %s", estimate->mi_nats(),
                          estimate->std_error_nats(), v1::EstimateState_Name(estimate->state()));
  }
  std::fprintf(stdout, "\r\033[K%s", line.c_str());
  std::fflush(stdout);
  progress_open_ = true;
}

void OutputFormatter::EndProgress() {
  absl::MutexLock lock(&mu_);
  if (progress_open_) std::fputs("\n", stdout);
  progress_open_ = false;
  std::fflush(stdout);
}

}  // namespace mine::cli
