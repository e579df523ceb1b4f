// MineClient against an in-process MineServer: real round trips through
// every call, batched streams, watches, and x-session-id metadata (checked
// with a small recording service).
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/health_checker.h"
#include "client/mine_client.h"
#include "client/synthetic_data.h"
#include "gtest/gtest.h"
#include "server/service/mine_server.h"
#include "tests/server/service/test_util.h"
#include "tests/support/status_matchers.h"

namespace mine {
namespace {

using service_testing::SmallConfig;

class MineClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    MineServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.manager.workers = 2;
    absl::StatusOr<std::unique_ptr<MineServer>> server = MineServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
    ASSERT_NE(server_, nullptr);
  }
  static void TearDownTestSuite() {
    if (server_ != nullptr) server_->Shutdown(absl::Seconds(5));
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                   grpc::InsecureChannelCredentials());
    client_ = std::make_unique<MineClient>(channel_);
  }

  static MineServer* server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<MineClient> client_;
};

MineServer* MineClientTest::server_ = nullptr;

TEST_F(MineClientTest, CreateGetListDelete) {
  absl::StatusOr<v1::Session> created = client_->CreateSession("life", SmallConfig(2));
  ASSERT_OK(created);
  EXPECT_EQ(created->session_id(), "life");
  EXPECT_EQ(created->config().x_dim(), 2);

  absl::StatusOr<v1::Session> got = client_->GetSession("life");
  ASSERT_OK(got);
  EXPECT_EQ(got->samples_seen(), 0);

  absl::StatusOr<std::vector<v1::Session>> all = client_->ListAllSessions();
  ASSERT_OK(all);
  bool listed = false;
  for (const v1::Session& s : *all) listed |= s.session_id() == "life";
  EXPECT_TRUE(listed);

  ASSERT_OK(client_->DeleteSession("life"));
  EXPECT_STATUS_CODE(client_->GetSession("life"), absl::StatusCode::kNotFound);
  EXPECT_STATUS_CODE(client_->DeleteSession("life"), absl::StatusCode::kNotFound);
}

TEST_F(MineClientTest, ServerErrorsKeepTheirCode) {
  v1::SessionConfig no_dims;
  EXPECT_STATUS_CODE(client_->CreateSession("bad", no_dims), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS_CODE(client_->GetEstimate("missing"), absl::StatusCode::kNotFound);
}

TEST_F(MineClientTest, PushSamplesThenEstimate) {
  ASSERT_OK(client_->CreateSession("push", SmallConfig(1)));
  CorrelatedGaussian data(1, 0.8, Transform::kNone, 3);
  std::vector<float> x, z;
  data.Fill(300, &x, &z);
  v1::SampleBatch batch;
  batch.set_session_id("push");
  batch.set_sequence(1);
  batch.mutable_x()->Add(x.begin(), x.end());
  batch.mutable_z()->Add(z.begin(), z.end());
  absl::StatusOr<v1::PushSamplesResponse> pushed = client_->PushSamples(batch);
  ASSERT_OK(pushed);
  EXPECT_EQ(pushed->accepted_rows(), 300);
  pushed = client_->PushSamples(batch);  // same sequence: a duplicate
  ASSERT_OK(pushed);
  EXPECT_TRUE(pushed->duplicate());
  EXPECT_EQ(pushed->samples_seen(), 300);

  absl::StatusOr<v1::Estimate> estimate = client_->GetEstimate("push");
  ASSERT_OK(estimate);
  EXPECT_EQ(estimate->session_id(), "push");
  ASSERT_OK(client_->DeleteSession("push"));
}

TEST_F(MineClientTest, StreamBatchesRowsAndFinalEstimateReflectsAll) {
  ASSERT_OK(client_->CreateSession("stream", SmallConfig(2)));
  std::atomic<int> estimates{0};
  SampleStreamWriter::Options options;
  options.batch_rows = 100;
  options.on_estimate = [&estimates](const v1::Estimate&) { ++estimates; };
  absl::StatusOr<std::unique_ptr<SampleStreamWriter>> writer =
      client_->OpenStream("stream", options);
  ASSERT_OK(writer);

  CorrelatedGaussian data(2, 0.8, Transform::kNone, 5);
  std::vector<float> x, z;
  data.Fill(1050, &x, &z);
  // 50 single rows, then the remaining 1,000 rows as one array.
  for (int i = 0; i < 50; ++i) {
    ASSERT_OK((*writer)->WriteRow(absl::MakeConstSpan(x).subspan(2 * i, 2),
                                  absl::MakeConstSpan(z).subspan(2 * i, 2)));
  }
  EXPECT_EQ((*writer)->batches_sent(), 0);
  EXPECT_EQ((*writer)->rows_buffered(), 50);
  ASSERT_OK((*writer)->WriteRows(1000, absl::MakeConstSpan(x).subspan(100),
                                 absl::MakeConstSpan(z).subspan(100)));
  EXPECT_EQ((*writer)->batches_sent(), 10);
  EXPECT_EQ((*writer)->rows_buffered(), 50);

  absl::StatusOr<v1::Estimate> final_estimate = (*writer)->Finish();
  ASSERT_OK(final_estimate);
  EXPECT_EQ((*writer)->batches_sent(), 11);
  EXPECT_EQ((*writer)->rows_sent(), 1050);
  EXPECT_EQ(final_estimate->samples_seen(), 1050);
  EXPECT_GE(estimates.load(), 1);
  ASSERT_OK(client_->DeleteSession("stream"));
}

TEST_F(MineClientTest, StreamRejectsMismatchedDimsLocally) {
  ASSERT_OK(client_->CreateSession("dims", SmallConfig(1)));
  absl::StatusOr<std::unique_ptr<SampleStreamWriter>> writer = client_->OpenStream("dims");
  ASSERT_OK(writer);
  const float one[] = {1.0f};
  const float two[] = {1.0f, 2.0f};
  ASSERT_OK((*writer)->WriteRow(one, one));
  EXPECT_STATUS_CODE((*writer)->WriteRow(two, one), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<v1::Estimate> final_estimate = (*writer)->Finish();
  ASSERT_OK(final_estimate);
  EXPECT_EQ(final_estimate->samples_seen(), 1);
  ASSERT_OK(client_->DeleteSession("dims"));
}

TEST_F(MineClientTest, StreamToUnknownSessionFailsWithNotFound) {
  absl::StatusOr<std::unique_ptr<SampleStreamWriter>> writer = client_->OpenStream("nobody");
  ASSERT_OK(writer);
  const float one[] = {1.0f};
  absl::Status status = (*writer)->WriteRow(one, one);
  absl::StatusOr<v1::Estimate> final_estimate = (*writer)->Finish();
  EXPECT_STATUS_CODE(final_estimate, absl::StatusCode::kNotFound);
}

TEST_F(MineClientTest, WatchDeliversEstimatesAndEndsWithNotFoundOnDelete) {
  ASSERT_OK(client_->CreateSession("watch", SmallConfig(1)));
  absl::Mutex mu;
  int seen = 0;
  absl::Status watch_status;
  std::thread watcher([&] {
    watch_status = client_->Watch("watch", absl::ZeroDuration(), [&](const v1::Estimate& e) {
      absl::MutexLock lock(&mu);
      EXPECT_EQ(e.session_id(), "watch");
      ++seen;
      return true;
    });
  });
  {
    absl::MutexLock lock(&mu);
    mu.AwaitWithTimeout(absl::Condition(+[](int* n) { return *n >= 1; }, &seen),
                        absl::Seconds(20));
    EXPECT_GE(seen, 1);
  }
  ASSERT_OK(client_->DeleteSession("watch"));
  watcher.join();
  EXPECT_STATUS_CODE(watch_status, absl::StatusCode::kNotFound);
}

TEST_F(MineClientTest, WatchStopsWhenTheCallbackSaysSo) {
  ASSERT_OK(client_->CreateSession("watch-stop", SmallConfig(1)));
  int calls = 0;
  EXPECT_OK(client_->Watch("watch-stop", absl::Milliseconds(10), [&](const v1::Estimate&) {
    ++calls;
    return false;
  }));
  EXPECT_EQ(calls, 1);
  ASSERT_OK(client_->DeleteSession("watch-stop"));
}

TEST_F(MineClientTest, HealthCheckReportsServing) {
  HealthChecker health(channel_);
  absl::StatusOr<std::string> overall = health.Check("", absl::Seconds(5));
  ASSERT_OK(overall);
  EXPECT_EQ(*overall, "SERVING");
  absl::StatusOr<std::string> service = health.Check("mine.v1.MineService", absl::Seconds(5));
  ASSERT_OK(service);
  EXPECT_EQ(*service, "SERVING");
  EXPECT_STATUS_CODE(health.Check("no.such.Service", absl::Seconds(5)),
                     absl::StatusCode::kNotFound);
}

// Records the x-session-id metadata of every call it receives.
class RecordingService final : public v1::MineService::Service {
 public:
  std::vector<std::string> ids() {
    absl::MutexLock lock(&mu_);
    return ids_;
  }

  grpc::Status GetSession(grpc::ServerContext* context, const v1::GetSessionRequest*,
                          v1::Session*) override {
    return Record(context);
  }
  grpc::Status ListSessions(grpc::ServerContext* context, const v1::ListSessionsRequest*,
                            v1::ListSessionsResponse*) override {
    return Record(context);
  }
  grpc::Status PushSamples(grpc::ServerContext* context, const v1::SampleBatch*,
                           v1::PushSamplesResponse*) override {
    return Record(context);
  }
  grpc::Status StreamSamples(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::Estimate, v1::SampleBatch>* stream) override {
    v1::SampleBatch batch;
    while (stream->Read(&batch)) {
    }
    stream->Write(v1::Estimate());
    return Record(context);
  }

 private:
  grpc::Status Record(grpc::ServerContext* context) {
    const auto& metadata = context->client_metadata();
    auto it = metadata.find("x-session-id");
    absl::MutexLock lock(&mu_);
    ids_.push_back(it == metadata.end() ? "<missing>"
                                        : std::string(it->second.data(), it->second.size()));
    return grpc::Status::OK;
  }

  absl::Mutex mu_;
  std::vector<std::string> ids_ ABSL_GUARDED_BY(mu_);
};

TEST(MineClientMetadataTest, EveryCallSendsXSessionId) {
  RecordingService service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);

  MineClient client(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                        grpc::InsecureChannelCredentials()));
  ASSERT_OK(client.GetSession("alpha"));
  ASSERT_OK(client.ListSessions());
  v1::SampleBatch batch;
  batch.set_session_id("beta");
  ASSERT_OK(client.PushSamples(batch));
  absl::StatusOr<std::unique_ptr<SampleStreamWriter>> writer = client.OpenStream("gamma");
  ASSERT_OK(writer);
  ASSERT_OK((*writer)->Finish());
  EXPECT_EQ(service.ids(), (std::vector<std::string>{"alpha", "", "beta", "gamma"}));

  server->Shutdown();
  server->Wait();
}

}  // namespace
}  // namespace mine
