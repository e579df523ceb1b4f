// ServiceMetrics through an in-process MineServer: /metrics scraped over
// HTTP on loopback, parsed, and counters checked to move as calls are made.
#include "server/service/service_metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/server/service/test_util.h"

namespace mine {
namespace {

using service_testing::GaussianBatch;
using service_testing::ServiceTest;
using service_testing::SmallConfig;
using service_testing::TestOptions;

// GET /metrics from 127.0.0.1:port; the body, or "" on failure.
std::string Scrape(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) {
    const std::string request = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buffer[4096];
      ssize_t n;
      while ((n = read(fd, buffer, sizeof(buffer))) > 0) response.append(buffer, n);
    }
  }
  close(fd);
  const size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

// Sample lines of the text format: "name{labels} value" -> value.
std::map<std::string, double> Parse(const std::string& text) {
  std::map<std::string, double> samples;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    double value;
    if (space == absl::string_view::npos || !absl::SimpleAtod(line.substr(space + 1), &value)) {
      ADD_FAILURE() << "not a sample line: " << line;
      continue;
    }
    samples[std::string(line.substr(0, space))] = value;
  }
  return samples;
}

class ServiceMetricsTest : public ServiceTest {
 protected:
  void SetUp() override { StartWithMetrics(TestOptions()); }

  void StartWithMetrics(MineServerOptions options) {
    options.metrics_port = 0;
    options.metrics_session_gauges = 2;
    StartServer(options);
    if (HasFatalFailure()) return;
    ASSERT_GT(server_->metrics_port(), 0);
  }

  std::map<std::string, double> Metrics() { return Parse(Scrape(server_->metrics_port())); }

  grpc::Status Push(const v1::SampleBatch& batch) {
    grpc::ClientContext context;
    v1::PushSamplesResponse response;
    return stub_->PushSamples(&context, batch, &response);
  }
};

// Labelled families (rejections, RPCs, per-session MI) appear with their
// first series; CountersMoveWithCalls checks those.
TEST_F(ServiceMetricsTest, ServesTheDocumentedFamiliesInBaseUnits) {
  const std::string text = Scrape(server_->metrics_port());
  for (const char* family :
       {"# TYPE mine_sessions_active gauge", "# TYPE mine_ingest_queue_rows gauge",
        "# TYPE mine_rows_ingested_total counter", "# TYPE mine_training_steps_total counter",
        "# TYPE mine_training_step_duration_seconds histogram"}) {
    EXPECT_NE(text.find(family), std::string::npos) << family << " missing from\n" << text;
  }
  EXPECT_EQ(Metrics()["mine_sessions_active"], 0);
}

TEST_F(ServiceMetricsTest, CountersMoveWithCalls) {
  CreateOrDie("m1", SmallConfig(1));
  ASSERT_TRUE(Push(GaussianBatch("m1", 300, 1, 5)).ok());
  v1::SampleBatch bad = GaussianBatch("m1", 10, 1, 6);
  bad.mutable_x()->RemoveLast();  // x and z disagree
  EXPECT_EQ(Push(bad).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Push(GaussianBatch("missing", 10, 1, 6)).error_code(), grpc::StatusCode::NOT_FOUND);

  std::map<std::string, double> m = Metrics();
  EXPECT_EQ(m["mine_sessions_active"], 1);
  EXPECT_EQ(m["mine_rows_ingested_total"], 300);
  EXPECT_EQ((m["mine_batches_rejected_total{reason=\"invalid_argument\"}"]), 1);
  EXPECT_EQ((m["mine_rpcs_total{code=\"OK\",method=\"/mine.v1.MineService/CreateSession\"}"]), 1);
  EXPECT_EQ((m["mine_rpcs_total{code=\"OK\",method=\"/mine.v1.MineService/PushSamples\"}"]), 1);
  EXPECT_EQ((m["mine_rpcs_total{code=\"NOT_FOUND\",method=\"/mine.v1.MineService/PushSamples\"}"]),
            1);
  EXPECT_EQ((m["mine_rpc_duration_seconds_count{method=\"/mine.v1.MineService/PushSamples\"}"]), 3);

  // Training runs on the workers: wait for the session's first estimate.
  auto session = server_->manager().Get("m1");
  ASSERT_TRUE(session.ok());
  ASSERT_TRUE((*session)->WaitForEstimate(300, absl::Seconds(60)));
  for (int i = 0; i < 600 && Metrics()["mine_training_steps_total"] == 0; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  m = Metrics();
  EXPECT_GT(m["mine_training_steps_total"], 0);
  EXPECT_GT(m["mine_training_step_duration_seconds_count"], 0);
  EXPECT_EQ(m.count("mine_session_mi_nats{session=\"m1\"}"), 1u);
}

TEST_F(ServiceMetricsTest, PerSessionGaugesAreCapped) {
  for (const char* id : {"c1", "c2", "c3"}) {
    CreateOrDie(id, SmallConfig(1));
    ASSERT_TRUE(Push(GaussianBatch(id, 300, 1, 5)).ok());
    auto session = server_->manager().Get(id);
    ASSERT_TRUE(session.ok());
    ASSERT_TRUE((*session)->WaitForEstimate(300, absl::Seconds(60)));
  }
  int gauges = 0;
  for (const auto& [name, value] : Metrics()) gauges += name.rfind("mine_session_mi_nats", 0) == 0;
  EXPECT_LE(gauges, 2);
}

// Checkpoints (one per create, then on demand), a checkpoint whose session
// directory has gone, and idle eviction, on a state dir of this process.
class PersistenceMetricsTest : public ServiceMetricsTest {
 protected:
  void SetUp() override {
    state_dir_ = absl::StrCat("/tmp/mine-metrics-test-", getpid());
    std::filesystem::remove_all(state_dir_);
    MineServerOptions options = TestOptions();
    options.manager.persistence.state_dir = state_dir_;
    options.manager.persistence.checkpoint_interval = absl::ZeroDuration();  // on demand only
    StartWithMetrics(options);
  }
  void TearDown() override {
    ServiceMetricsTest::TearDown();
    std::filesystem::remove_all(state_dir_);
  }
  std::string state_dir_;
};

TEST_F(PersistenceMetricsTest, CheckpointsFailuresAndEvictionsAreCounted) {
  std::map<std::string, double> m = Metrics();
  EXPECT_EQ(m["mine_checkpoint_duration_seconds_count"], 0);
  EXPECT_EQ(m["mine_checkpoint_failures_total"], 0);
  EXPECT_EQ(m["mine_session_evictions_total"], 0);
  EXPECT_EQ(m["mine_sessions_evicted"], 0);

  CreateOrDie("kept", SmallConfig(1));
  CreateOrDie("doomed", SmallConfig(1));
  m = Metrics();
  EXPECT_EQ(m["mine_checkpoint_duration_seconds_count"], 2);  // the first checkpoint of each
  EXPECT_GE(m["mine_checkpoint_duration_seconds_sum"], 0);

  // A changed session whose directory has gone cannot be checkpointed.
  ASSERT_TRUE(Push(GaussianBatch("doomed", 10, 1, 1)).ok());
  std::filesystem::remove_all(state_dir_ + "/sessions/doomed");
  EXPECT_FALSE(server_->manager().CheckpointAll().ok());
  m = Metrics();
  EXPECT_EQ(m["mine_checkpoint_failures_total"], 1);
  EXPECT_EQ(m["mine_checkpoint_duration_seconds_count"], 3);
  ASSERT_TRUE(server_->manager().Delete("doomed").ok());

  // Idle eviction: "kept" leaves memory; scrapes do not bring it back.
  EXPECT_EQ(server_->manager().EvictIdle(absl::Nanoseconds(1)), 1);
  for (int scrape = 0; scrape < 2; ++scrape) {
    m = Metrics();
    EXPECT_EQ(m["mine_session_evictions_total"], 1);
    EXPECT_EQ(m["mine_sessions_evicted"], 1);
    EXPECT_EQ(m["mine_sessions_active"], 0);
  }
  ASSERT_TRUE(server_->manager().Get("kept").ok());  // a call loads it back
  m = Metrics();
  EXPECT_EQ(m["mine_sessions_evicted"], 0);
  EXPECT_EQ(m["mine_sessions_active"], 1);
  EXPECT_EQ(m["mine_session_evictions_total"], 1);
}

TEST_F(ServiceMetricsTest, AlertsAreCountedByRuleAndKind) {
  v1::SessionConfig config = SmallConfig(1);
  // rho 0.8, d = 1: true MI 0.51 nats, so the estimate crosses 0.1 once.
  config.mutable_alert_rules()->mutable_threshold()->set_threshold_nats(0.1);
  config.mutable_alert_rules()->mutable_threshold()->set_hysteresis_nats(0.09);
  CreateOrDie("alerting", config);
  ASSERT_TRUE(Push(GaussianBatch("alerting", 4096, 1, 5)).ok());
  const std::string firing = "mine_alerts_total{kind=\"firing\",rule=\"threshold\"}";
  // Training runs on the workers: wait (bounded) for the crossing.
  for (int i = 0; i < 1200 && Metrics()[firing] == 0; ++i) absl::SleepFor(absl::Milliseconds(50));
  std::map<std::string, double> m = Metrics();
  EXPECT_EQ(m[firing], 1);
  EXPECT_EQ(m.count("mine_alerts_total{kind=\"change\",rule=\"change\"}"), 0u);
}

}  // namespace
}  // namespace mine
