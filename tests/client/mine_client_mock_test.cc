// MineClient against the generated mock stub: deadlines on every unary
// call, retries on UNAVAILABLE only, the gRPC code kept in the absl::Status.
#include <chrono>
#include <memory>

#include "absl/time/time.h"
#include "client/mine_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mine/v1/mine_mock.grpc.pb.h"
#include "tests/support/status_matchers.h"

namespace mine {
namespace {

using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Invoke;
using ::testing::Return;

MineClientOptions FastRetries(int attempts) {
  MineClientOptions options;
  options.max_attempts = attempts;
  options.initial_backoff = absl::Milliseconds(1);
  options.max_backoff = absl::Milliseconds(4);
  options.jitter_seed = 1;
  return options;
}

// The stub's mock, kept for expectations; the client owns the stub.
struct MockedClient {
  explicit MockedClient(MineClientOptions options) {
    auto stub = std::make_unique<v1::MockMineServiceStub>();
    mock = stub.get();
    client = std::make_unique<MineClient>(std::move(stub), options);
  }
  v1::MockMineServiceStub* mock;
  std::unique_ptr<MineClient> client;
};

TEST(MineClientMockTest, RetriesUnavailableThenSucceeds) {
  MockedClient c(FastRetries(4));
  EXPECT_CALL(*c.mock, GetSession(_, _, _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down")))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down")))
      .WillOnce(Invoke([](grpc::ClientContext*, const v1::GetSessionRequest& request,
                          v1::Session* session) {
        session->set_session_id(request.session_id());
        session->set_samples_seen(42);
        return grpc::Status::OK;
      }));
  absl::StatusOr<v1::Session> session = c.client->GetSession("s1");
  ASSERT_OK(session);
  EXPECT_EQ(session->session_id(), "s1");
  EXPECT_EQ(session->samples_seen(), 42);
}

TEST(MineClientMockTest, GivesUpAfterMaxAttemptsWithUnavailable) {
  MockedClient c(FastRetries(3));
  EXPECT_CALL(*c.mock, GetEstimate(_, _, _))
      .Times(3)
      .WillRepeatedly(Return(grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused")));
  absl::StatusOr<v1::Estimate> estimate = c.client->GetEstimate("s1");
  EXPECT_STATUS_CODE(estimate, absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(estimate.status().message()), HasSubstr("3 attempts"));
  EXPECT_THAT(std::string(estimate.status().message()), HasSubstr("connection refused"));
}

TEST(MineClientMockTest, DoesNotRetryOtherCodesAndKeepsTheCode) {
  MockedClient c(FastRetries(5));
  EXPECT_CALL(*c.mock, DeleteSession(_, _, _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::NOT_FOUND, "no session s9")));
  EXPECT_CALL(*c.mock, PushSamples(_, _, _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "x has NaN")));
  EXPECT_CALL(*c.mock, CreateSession(_, _, _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "slow")));
  EXPECT_CALL(*c.mock, ListSessions(_, _, _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "full")));

  absl::Status deleted = c.client->DeleteSession("s9");
  EXPECT_STATUS_CODE(deleted, absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(deleted.message()), HasSubstr("no session s9"));
  EXPECT_STATUS_CODE(c.client->PushSamples(v1::SampleBatch()),
                     absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS_CODE(c.client->CreateSession("s", v1::SessionConfig()),
                     absl::StatusCode::kDeadlineExceeded);
  EXPECT_STATUS_CODE(c.client->ListSessions(), absl::StatusCode::kResourceExhausted);
}

TEST(MineClientMockTest, SetsADeadlineOnEveryUnaryCallAttempt) {
  MineClientOptions options = FastRetries(2);
  options.timeout = absl::Seconds(7);
  MockedClient c(options);
  int checked = 0;
  auto check_deadline = [&checked](grpc::ClientContext* context) {
    const auto left = context->deadline() - std::chrono::system_clock::now();
    EXPECT_GT(left, std::chrono::seconds(5));
    EXPECT_LE(left, std::chrono::seconds(7));
    ++checked;
  };
  EXPECT_CALL(*c.mock, CreateSession(_, _, _))
      .WillOnce(Invoke([&](grpc::ClientContext* context, auto&, auto*) {
        check_deadline(context);
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "retry me");
      }))
      .WillOnce(Invoke([&](grpc::ClientContext* context, auto&, auto*) {
        check_deadline(context);
        return grpc::Status::OK;
      }));
  EXPECT_CALL(*c.mock, GetSession(_, _, _)).WillOnce(Invoke([&](grpc::ClientContext* context, auto&, auto*) {
    check_deadline(context);
    return grpc::Status::OK;
  }));
  EXPECT_CALL(*c.mock, ListSessions(_, _, _)).WillOnce(Invoke([&](grpc::ClientContext* context, auto&, auto*) {
    check_deadline(context);
    return grpc::Status::OK;
  }));
  EXPECT_CALL(*c.mock, DeleteSession(_, _, _)).WillOnce(Invoke([&](grpc::ClientContext* context, auto&, auto*) {
    check_deadline(context);
    return grpc::Status::OK;
  }));
  EXPECT_CALL(*c.mock, PushSamples(_, _, _)).WillOnce(Invoke([&](grpc::ClientContext* context, auto&, auto*) {
    check_deadline(context);
    return grpc::Status::OK;
  }));
  EXPECT_CALL(*c.mock, GetEstimate(_, _, _)).WillOnce(Invoke([&](grpc::ClientContext* context, auto&, auto*) {
    check_deadline(context);
    return grpc::Status::OK;
  }));

  EXPECT_OK(c.client->CreateSession("s", v1::SessionConfig()));
  EXPECT_OK(c.client->GetSession("s"));
  EXPECT_OK(c.client->ListSessions());
  EXPECT_OK(c.client->DeleteSession("s"));
  EXPECT_OK(c.client->PushSamples(v1::SampleBatch()));
  EXPECT_OK(c.client->GetEstimate("s"));
  EXPECT_EQ(checked, 7);
}

TEST(MineClientMockTest, SingleAttemptDisablesRetries) {
  MockedClient c(FastRetries(1));
  EXPECT_CALL(*c.mock, GetEstimate(_, _, _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down")));
  EXPECT_STATUS_CODE(c.client->GetEstimate("s"), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace mine
