// Hostile requests against a running mine-server process: every one gets
// its proper code, and the server stays up and keeps serving other sessions.
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "mine/v1/mine.grpc.pb.h"
#include "tests/support/server_process.h"

namespace mine {
namespace {

using grpc::StatusCode;

class HostileRequestsE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess(MINE_SERVER_PATH);
    const std::string line =
        server_->Start({"--host=127.0.0.1", "--port=0", "--workers=1", "--state_dir=", "--metrics_port=0",
                        "--max_message_mb=4", "--max_batch_rows=200000"});
    const std::string prefix = "mine-server listening on 127.0.0.1:";
    ASSERT_EQ(line.rfind(prefix, 0), 0u) << line;
    int port = 0;
    ASSERT_TRUE(absl::SimpleAtoi(
        line.substr(prefix.size(), line.find(' ', prefix.size()) - prefix.size()), &port));
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(64 << 20);
    channel_ = new std::shared_ptr<grpc::Channel>(grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials(), args));
  }
  static void TearDownTestSuite() {
    delete channel_;
    EXPECT_EQ(server_->Terminate(absl::Seconds(30)), 0);
    delete server_;
  }

  void SetUp() override { stub_ = v1::MineService::NewStub(*channel_); }

  // The server still answers and trains a well-formed session.
  void TearDown() override {
    v1::GetSessionRequest request;
    request.set_session_id("good");
    v1::Session reply;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    grpc::Status s = stub_->GetSession(&context, request, &reply);
    EXPECT_TRUE(s.ok() || s.error_code() == StatusCode::NOT_FOUND) << s.error_message();
    EXPECT_EQ(Create("good", Config(1, 1)), StatusCode::OK);
    EXPECT_EQ(Push(Batch("good", {0.1f, 0.2f}, {0.3f, 0.4f})), StatusCode::OK);
  }

  static v1::SessionConfig Config(int x_dim, int z_dim) {
    v1::SessionConfig c;
    c.set_x_dim(x_dim);
    c.set_z_dim(z_dim);
    c.add_hidden_units(8);
    c.set_batch_size(16);
    c.set_window_size(512);
    return c;
  }

  static v1::SampleBatch Batch(const std::string& id, std::vector<float> x, std::vector<float> z) {
    v1::SampleBatch b;
    b.set_session_id(id);
    *b.mutable_x() = {x.begin(), x.end()};
    *b.mutable_z() = {z.begin(), z.end()};
    return b;
  }

  StatusCode Create(const std::string& id, const v1::SessionConfig& config) {
    v1::CreateSessionRequest request;
    request.set_session_id(id);
    *request.mutable_config() = config;
    v1::Session reply;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    return stub_->CreateSession(&context, request, &reply).error_code();
  }

  StatusCode Push(const v1::SampleBatch& batch) {
    v1::PushSamplesResponse reply;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    return stub_->PushSamples(&context, batch, &reply).error_code();
  }

  static ServerProcess* server_;
  static std::shared_ptr<grpc::Channel>* channel_;
  std::unique_ptr<v1::MineService::Stub> stub_;
};

ServerProcess* HostileRequestsE2eTest::server_ = nullptr;
std::shared_ptr<grpc::Channel>* HostileRequestsE2eTest::channel_ = nullptr;

TEST_F(HostileRequestsE2eTest, ZeroHugeAndOverflowingConfigsAreInvalidArgument) {
  EXPECT_EQ(Create("z0", Config(0, 1)), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Create("zneg", Config(-5, 1)), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Create("huge", Config(std::numeric_limits<int32_t>::max(), 1)),
            StatusCode::INVALID_ARGUMENT);
  v1::SessionConfig c = Config(1, 1);
  c.set_window_size(std::numeric_limits<int32_t>::max());
  EXPECT_EQ(Create("window", c), StatusCode::INVALID_ARGUMENT);
  c = Config(1, 1);
  c.set_batch_size(std::numeric_limits<int32_t>::max());
  EXPECT_EQ(Create("batch", c), StatusCode::INVALID_ARGUMENT);
  c = Config(1, 1);
  for (int i = 0; i < 1000; ++i) c.add_hidden_units(std::numeric_limits<int32_t>::max());
  EXPECT_EQ(Create("layers", c), StatusCode::INVALID_ARGUMENT);
  c = Config(1, 1);
  c.set_learning_rate(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(Create("lr", c), StatusCode::INVALID_ARGUMENT);
}

TEST_F(HostileRequestsE2eTest, UnknownEnumValuesAreInvalidArgument) {
  v1::SessionConfig c = Config(1, 1);
  c.set_estimator(static_cast<v1::Estimator>(99));
  EXPECT_EQ(Create("enum1", c), StatusCode::INVALID_ARGUMENT);
  c = Config(1, 1);
  c.set_activation(static_cast<v1::Activation>(-3));
  EXPECT_EQ(Create("enum2", c), StatusCode::INVALID_ARGUMENT);
}

TEST_F(HostileRequestsE2eTest, LongAndNonAsciiIdsAreInvalidArgument) {
  EXPECT_EQ(Create(std::string(10 * 1024, 'a'), Config(1, 1)), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Create("s\xc3\xa9" "ance", Config(1, 1)), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Create(std::string("nul\0id", 6), Config(1, 1)), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Create("../../etc", Config(1, 1)), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Push(Batch(std::string(10 * 1024, 'b'), {1}, {1})), StatusCode::INVALID_ARGUMENT);
}

TEST_F(HostileRequestsE2eTest, BadBatchesAreRefusedAndLeaveTheSessionUnchanged) {
  ASSERT_EQ(Create("victim", Config(2, 1)), StatusCode::OK);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(Push(Batch("victim", {}, {})), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Push(Batch("victim", {1, 2}, {nan})), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Push(Batch("victim", {inf, 2}, {1})), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Push(Batch("victim", {1, 2, 3, 4}, {1})), StatusCode::INVALID_ARGUMENT);  // x/z rows
  EXPECT_EQ(Push(Batch("victim", {1, 2, 3}, {1})), StatusCode::INVALID_ARGUMENT);     // partial row
  v1::SampleBatch negative = Batch("victim", {1, 2}, {1});
  negative.set_sequence(-1);
  EXPECT_EQ(Push(negative), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Push(Batch("nobody", {1, 2}, {1})), StatusCode::NOT_FOUND);
  v1::GetSessionRequest request;
  request.set_session_id("victim");
  v1::Session reply;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->GetSession(&context, request, &reply).ok());
  EXPECT_EQ(reply.samples_seen(), 0);
}

TEST_F(HostileRequestsE2eTest, OversizeMessageAndTooManyRowsAreRefused) {
  ASSERT_EQ(Create("big", Config(1, 1)), StatusCode::OK);
  // 1,000,000 rows: 8 MB, over --max_message_mb=4.
  std::vector<float> million(1000000, 0.5f);
  EXPECT_EQ(Push(Batch("big", million, million)), StatusCode::RESOURCE_EXHAUSTED);
  // 300,000 rows fit the message limit but not --max_batch_rows=200000.
  std::vector<float> many(300000, 0.5f);
  EXPECT_EQ(Push(Batch("big", many, many)), StatusCode::INVALID_ARGUMENT);
}

TEST_F(HostileRequestsE2eTest, AStreamThatNeverSendsDoesNotBlockOthers) {
  grpc::ClientContext silent;
  silent.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  auto stream = stub_->StreamSamples(&silent);
  // Meanwhile everything else is served.
  EXPECT_EQ(Create("other", Config(1, 1)), StatusCode::OK);
  EXPECT_EQ(Push(Batch("other", {1}, {2})), StatusCode::OK);
  v1::Estimate e;
  while (stream->Read(&e)) {
  }
  EXPECT_EQ(stream->Finish().error_code(), StatusCode::DEADLINE_EXCEEDED);
}

}  // namespace
}  // namespace mine
