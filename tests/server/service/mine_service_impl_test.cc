// MineService unary RPCs against an in-process server: every RPC, every
// error code the service maps.
#include "server/service/mine_service_impl.h"

#include <cmath>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "tests/server/service/test_util.h"

namespace mine {
namespace {

using service_testing::GaussianBatch;
using service_testing::ServiceTest;
using service_testing::SmallConfig;
using service_testing::TestOptions;

class MineServiceImplTest : public ServiceTest {
 protected:
  void SetUp() override { StartServer(); }

  grpc::Status Push(const v1::SampleBatch& batch, v1::PushSamplesResponse* response = nullptr) {
    grpc::ClientContext context;
    v1::PushSamplesResponse ignored;
    return stub_->PushSamples(&context, batch, response ? response : &ignored);
  }

  grpc::Status GetEstimate(const std::string& id, v1::Estimate* estimate) {
    grpc::ClientContext context;
    v1::GetEstimateRequest request;
    request.set_session_id(id);
    return stub_->GetEstimate(&context, request, estimate);
  }
};

TEST_F(MineServiceImplTest, CreateSessionFillsDefaultsAndGeneratesId) {
  v1::SessionConfig config;
  config.set_x_dim(2);
  config.set_z_dim(3);
  v1::Session session;
  ASSERT_TRUE(Create("", config, &session).ok());
  EXPECT_FALSE(session.session_id().empty());
  EXPECT_EQ(session.config().x_dim(), 2);
  EXPECT_EQ(session.config().z_dim(), 3);
  EXPECT_EQ(session.config().estimator(), v1::MINE);
  EXPECT_EQ(session.config().activation(), v1::ELU);
  EXPECT_EQ(session.config().marginal_sampling(), v1::SHUFFLE_BATCH);
  EXPECT_GT(session.config().hidden_units_size(), 0);
  EXPECT_GT(session.config().learning_rate(), 0);
  EXPECT_GT(session.config().batch_size(), 0);
  EXPECT_NE(session.config().seed(), 0u);
  EXPECT_GT(session.created_at().seconds(), 0);
  EXPECT_EQ(session.latest().session_id(), session.session_id());
  EXPECT_EQ(session.latest().state(), v1::WARMING_UP);
}

TEST_F(MineServiceImplTest, CreateSessionIsIdempotentForTheSameConfig) {
  v1::Session first, second;
  ASSERT_TRUE(Create("same", SmallConfig(2), &first).ok());
  ASSERT_TRUE(Create("same", SmallConfig(2), &second).ok());
  EXPECT_EQ(first.session_id(), second.session_id());
  EXPECT_EQ(first.created_at().seconds(), second.created_at().seconds());
  EXPECT_EQ(first.created_at().nanos(), second.created_at().nanos());
}

TEST_F(MineServiceImplTest, CreateSessionWithADifferentConfigIsAlreadyExists) {
  ASSERT_TRUE(Create("taken", SmallConfig(2)).ok());
  EXPECT_EQ(Create("taken", SmallConfig(3)).error_code(), grpc::StatusCode::ALREADY_EXISTS);
}

TEST_F(MineServiceImplTest, CreateSessionRejectsBadConfigsNamingTheField) {
  v1::SessionConfig no_dims;
  grpc::Status status = Create("a", no_dims);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("x_dim"), std::string::npos) << status.error_message();

  v1::SessionConfig unknown_enum = SmallConfig(1);
  unknown_enum.set_estimator(static_cast<v1::Estimator>(42));
  status = Create("b", unknown_enum);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("config.estimator"), std::string::npos)
      << status.error_message();

  v1::SessionConfig unknown_activation = SmallConfig(1);
  unknown_activation.set_activation(static_cast<v1::Activation>(-1));
  status = Create("c", unknown_activation);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("config.activation"), std::string::npos);

  v1::SessionConfig too_wide = SmallConfig(1);
  too_wide.set_x_dim(TestOptions().manager.limits.max_dim + 1);
  EXPECT_EQ(Create("d", too_wide).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  EXPECT_EQ(Create("bad id!", SmallConfig(1)).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Create(std::string(129, 'a'), SmallConfig(1)).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(MineServiceImplTest, CreateSessionBeyondMaxSessionsIsResourceExhausted) {
  for (int i = 0; i < TestOptions().manager.max_sessions; ++i) {
    ASSERT_TRUE(Create("s" + std::to_string(i), SmallConfig(1)).ok());
  }
  EXPECT_EQ(Create("one-too-many", SmallConfig(1)).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(MineServiceImplTest, GetSessionReturnsCountsAndUnknownIsNotFound) {
  ASSERT_TRUE(Create("g", SmallConfig(2)).ok());
  ASSERT_TRUE(Push(GaussianBatch("g", 100, 2, 1)).ok());
  grpc::ClientContext context;
  v1::GetSessionRequest request;
  request.set_session_id("g");
  v1::Session session;
  ASSERT_TRUE(stub_->GetSession(&context, request, &session).ok());
  EXPECT_EQ(session.session_id(), "g");
  EXPECT_EQ(session.samples_seen(), 100);
  EXPECT_EQ(session.config().hidden_units_size(), 2);

  grpc::ClientContext context2;
  request.set_session_id("nope");
  EXPECT_EQ(stub_->GetSession(&context2, request, &session).error_code(),
            grpc::StatusCode::NOT_FOUND);
  grpc::ClientContext context3;
  request.set_session_id("");
  EXPECT_EQ(stub_->GetSession(&context3, request, &session).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(MineServiceImplTest, ListSessionsPagesInIdOrder) {
  for (const char* id : {"e", "b", "d", "a", "c"}) ASSERT_TRUE(Create(id, SmallConfig(1)).ok());
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    grpc::ClientContext context;
    v1::ListSessionsRequest request;
    request.set_page_size(2);
    request.set_page_token(token);
    v1::ListSessionsResponse response;
    ASSERT_TRUE(stub_->ListSessions(&context, request, &response).ok());
    EXPECT_LE(response.sessions_size(), 2);
    for (const v1::Session& s : response.sessions()) seen.push_back(s.session_id());
    token = response.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c", "d", "e"}));

  grpc::ClientContext context;
  v1::ListSessionsRequest request;
  request.set_page_size(100000);
  v1::ListSessionsResponse response;
  EXPECT_EQ(stub_->ListSessions(&context, request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(MineServiceImplTest, DeleteSessionForgetsItAndUnknownIsNotFound) {
  ASSERT_TRUE(Create("del", SmallConfig(1)).ok());
  v1::DeleteSessionRequest request;
  request.set_session_id("del");
  v1::DeleteSessionResponse response;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->DeleteSession(&context, request, &response).ok());
  }
  {
    grpc::ClientContext context;
    EXPECT_EQ(stub_->DeleteSession(&context, request, &response).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  v1::Estimate estimate;
  EXPECT_EQ(GetEstimate("del", &estimate).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(MineServiceImplTest, PushSamplesCountsRowsAndAcknowledgesDuplicates) {
  ASSERT_TRUE(Create("p", SmallConfig(2)).ok());
  v1::SampleBatch batch = GaussianBatch("p", 50, 2, 1);
  batch.set_sequence(1);
  v1::PushSamplesResponse response;
  ASSERT_TRUE(Push(batch, &response).ok());
  EXPECT_EQ(response.accepted_rows(), 50);
  EXPECT_EQ(response.samples_seen(), 50);
  EXPECT_FALSE(response.duplicate());

  ASSERT_TRUE(Push(batch, &response).ok());  // same sequence again
  EXPECT_EQ(response.accepted_rows(), 0);
  EXPECT_EQ(response.samples_seen(), 50);
  EXPECT_TRUE(response.duplicate());

  batch.set_sequence(2);
  ASSERT_TRUE(Push(batch, &response).ok());
  EXPECT_EQ(response.samples_seen(), 100);
}

TEST_F(MineServiceImplTest, PushSamplesRejectsBadBatches) {
  ASSERT_TRUE(Create("bad", SmallConfig(2)).ok());
  v1::SampleBatch nan = GaussianBatch("bad", 10, 2, 1);
  nan.set_x(7, std::numeric_limits<float>::quiet_NaN());
  grpc::Status status = Push(nan);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("x"), std::string::npos) << status.error_message();

  v1::SampleBatch mismatched = GaussianBatch("bad", 10, 2, 1);
  mismatched.mutable_z()->RemoveLast();
  mismatched.mutable_z()->RemoveLast();
  EXPECT_EQ(Push(mismatched).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::SampleBatch ragged = GaussianBatch("bad", 10, 2, 1);
  ragged.mutable_x()->RemoveLast();
  EXPECT_EQ(Push(ragged).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::SampleBatch empty;
  empty.set_session_id("bad");
  EXPECT_EQ(Push(empty).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::SampleBatch negative_sequence = GaussianBatch("bad", 10, 2, 1);
  negative_sequence.set_sequence(-1);
  EXPECT_EQ(Push(negative_sequence).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  EXPECT_EQ(Push(GaussianBatch("", 10, 2, 1)).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Push(GaussianBatch("unknown", 10, 2, 1)).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // Nothing of the refused batches was counted.
  v1::Estimate estimate;
  grpc::ClientContext context;
  v1::GetSessionRequest request;
  request.set_session_id("bad");
  v1::Session session;
  ASSERT_TRUE(stub_->GetSession(&context, request, &session).ok());
  EXPECT_EQ(session.samples_seen(), 0);
}

TEST_F(MineServiceImplTest, OversizedMessageIsResourceExhausted) {
  ASSERT_TRUE(Create("big", SmallConfig(1)).ok());
  // 2 x 200k floats = 1.6 MB > the test server's 1 MiB limit.
  grpc::Status status = Push(GaussianBatch("big", 200000, 1, 1));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << status.error_message();
}

TEST_F(MineServiceImplTest, BatchAboveMaxBatchRowsIsInvalidArgument) {
  server_->Shutdown(absl::ZeroDuration());
  MineServerOptions options = TestOptions();
  options.manager.session.max_batch_rows = 100;
  StartServer(options);
  ASSERT_TRUE(Create("rows", SmallConfig(1)).ok());
  EXPECT_TRUE(Push(GaussianBatch("rows", 100, 1, 1)).ok());
  EXPECT_EQ(Push(GaussianBatch("rows", 101, 1, 1)).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(MineServiceImplTest, PushSamplesIntoAFullQueueIsResourceExhausted) {
  server_->Shutdown(absl::ZeroDuration());
  MineServerOptions options = TestOptions();
  options.manager.workers = 1;
  options.manager.session.max_pending_values = 1;  // a non-empty queue takes nothing
  StartServer(options);
  // A session with a large net keeps the only worker busy, so the target
  // session's queue is not drained between two pushes.
  v1::SessionConfig heavy = SmallConfig(8);
  heavy.clear_hidden_units();
  heavy.add_hidden_units(512);
  heavy.add_hidden_units(512);
  heavy.set_batch_size(1024);
  ASSERT_TRUE(Create("busy", heavy).ok());
  ASSERT_TRUE(Create("target", SmallConfig(1)).ok());
  grpc::Status status;
  for (int i = 0; i < 100 && status.ok(); ++i) {
    v1::PushSamplesResponse ignored;
    Push(GaussianBatch("busy", 2048, 8, i), &ignored);  // may itself be refused
    status = Push(GaussianBatch("target", 10, 1, i));
    if (status.ok()) status = Push(GaussianBatch("target", 10, 1, i + 1000));
  }
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
}

TEST_F(MineServiceImplTest, GetEstimateReportsBitsAndCounts) {
  ASSERT_TRUE(Create("est", SmallConfig(1)).ok());
  ASSERT_TRUE(Push(GaussianBatch("est", 2000, 1, 1)).ok());
  server_->manager().Get("est").value()->WaitForEstimate(2000, absl::Seconds(60));
  v1::Estimate estimate;
  ASSERT_TRUE(GetEstimate("est", &estimate).ok());
  EXPECT_EQ(estimate.session_id(), "est");
  EXPECT_EQ(estimate.samples_seen(), 2000);
  EXPECT_EQ(estimate.estimator(), v1::MINE);
  EXPECT_NE(estimate.state(), v1::ESTIMATE_STATE_UNSPECIFIED);
  EXPECT_NEAR(estimate.mi_bits(), estimate.mi_nats() / std::log(2.0), 1e-9);
  EXPECT_GT(estimate.version(), 0u);
  EXPECT_GT(estimate.computed_at().seconds(), 0);
  v1::Estimate missing;
  EXPECT_EQ(GetEstimate("nope", &missing).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(MineServiceImplTest, DrainingServerRefusesNewCallsWithUnavailable) {
  ASSERT_TRUE(Create("d", SmallConfig(1)).ok());
  // A watcher keeps the server draining (not yet stopped) until it ends.
  grpc::ClientContext watch_context;
  v1::WatchEstimatesRequest watch;
  watch.set_session_id("d");
  auto reader = stub_->WatchEstimates(&watch_context, watch);
  v1::Estimate first;
  ASSERT_TRUE(reader->Read(&first));
  std::thread shutdown([this] { server_->Shutdown(absl::Seconds(10)); });
  while (reader->Read(&first)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  shutdown.join();
  EXPECT_EQ(Create("late", SmallConfig(1)).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(MineServiceImplTest, HealthServiceReportsServing) {
  // grpc.health.v1.Health/Check by hand: request {service: name}, response
  // {status: SERVING (1)} is the two bytes 08 01.
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                     grpc::InsecureChannelCredentials());
  grpc::GenericStub generic(channel);
  for (std::string service : {"", "mine.v1.MineService"}) {
    std::string request;
    if (!service.empty()) {
      request.push_back(0x0a);
      request.push_back(static_cast<char>(service.size()));
      request += service;
    }
    grpc::Slice slice(request);
    grpc::ByteBuffer send(&slice, 1), receive;
    grpc::ClientContext context;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    grpc::Status status;
    generic.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &send,
                      &receive, [&](grpc::Status s) {
                        std::lock_guard<std::mutex> lock(mu);
                        status = s;
                        done = true;
                        cv.notify_all();
                      });
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done; });
    ASSERT_TRUE(status.ok()) << "service '" << service << "': " << status.error_message();
    std::vector<grpc::Slice> slices;
    ASSERT_TRUE(receive.Dump(&slices).ok());
    std::string bytes;
    for (const grpc::Slice& s : slices) bytes += std::string(s.begin(), s.end());
    EXPECT_EQ(bytes, std::string("\x08\x01", 2)) << "service '" << service << "'";
  }
}

}  // namespace
}  // namespace mine
