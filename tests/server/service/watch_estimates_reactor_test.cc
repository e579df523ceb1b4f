// WatchEstimates against an in-process server: updates, pacing, several
// watchers, deletion, bad requests, client cancellation.
#include "server/service/watch_estimates_reactor.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/server/service/test_util.h"

namespace mine {
namespace {

using service_testing::GaussianBatch;
using service_testing::ServiceTest;
using service_testing::SmallConfig;

class WatchEstimatesReactorTest : public ServiceTest {
 protected:
  void SetUp() override { StartServer(); }

  std::unique_ptr<grpc::ClientReader<v1::Estimate>> Watch(grpc::ClientContext* context,
                                                          const std::string& id,
                                                          int min_interval_ms = 0) {
    v1::WatchEstimatesRequest request;
    request.set_session_id(id);
    request.set_min_interval_ms(min_interval_ms);
    return stub_->WatchEstimates(context, request);
  }

  void Push(const std::string& id, int64_t rows, uint64_t seed) {
    grpc::ClientContext context;
    v1::PushSamplesResponse response;
    ASSERT_TRUE(stub_->PushSamples(&context, GaussianBatch(id, rows, 1, seed), &response).ok());
  }
};

TEST_F(WatchEstimatesReactorTest, SendsTheCurrentEstimateThenEveryNewerOne) {
  CreateOrDie("w", SmallConfig(1));
  grpc::ClientContext context;
  auto reader = Watch(&context, "w");
  v1::Estimate estimate;
  ASSERT_TRUE(reader->Read(&estimate));
  EXPECT_EQ(estimate.session_id(), "w");
  EXPECT_EQ(estimate.samples_seen(), 0);
  Push("w", 1000, 1);
  uint64_t version = estimate.version();
  // Read until an estimate covers the pushed rows; versions only go up.
  while (estimate.samples_seen() < 1000) {
    ASSERT_TRUE(reader->Read(&estimate));
    EXPECT_GT(estimate.version(), version);
    version = estimate.version();
  }
  context.TryCancel();
  while (reader->Read(&estimate)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(WatchEstimatesReactorTest, PacesMessagesByMinInterval) {
  CreateOrDie("w", SmallConfig(1));
  grpc::ClientContext context;
  auto reader = Watch(&context, "w", /*min_interval_ms=*/200);
  const absl::Time start = absl::Now();
  std::thread feeder([this] {
    for (int i = 0; i < 20; ++i) {
      Push("w", 200, i + 1);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  int messages = 0;
  v1::Estimate estimate;
  while (estimate.samples_seen() < 4000 && reader->Read(&estimate)) ++messages;
  const absl::Duration elapsed = absl::Now() - start;
  feeder.join();
  EXPECT_EQ(estimate.samples_seen(), 4000);
  // An upper bound only: at most one message per 200 ms, plus the first.
  EXPECT_LE(messages, elapsed / absl::Milliseconds(200) + 1);
  context.TryCancel();
  while (reader->Read(&estimate)) {
  }
  reader->Finish();
}

TEST_F(WatchEstimatesReactorTest, DeletingTheSessionEndsEveryWatcherWithNotFound) {
  CreateOrDie("w", SmallConfig(1));
  grpc::ClientContext context1, context2;
  auto reader1 = Watch(&context1, "w");
  auto reader2 = Watch(&context2, "w", 1000);
  v1::Estimate estimate;
  ASSERT_TRUE(reader1->Read(&estimate));
  ASSERT_TRUE(reader2->Read(&estimate));
  grpc::ClientContext context;
  v1::DeleteSessionRequest request;
  request.set_session_id("w");
  v1::DeleteSessionResponse response;
  ASSERT_TRUE(stub_->DeleteSession(&context, request, &response).ok());
  while (reader1->Read(&estimate)) {
  }
  while (reader2->Read(&estimate)) {
  }
  EXPECT_EQ(reader1->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(reader2->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(WatchEstimatesReactorTest, UnknownSessionOrBadIntervalIsRefused) {
  CreateOrDie("w", SmallConfig(1));
  struct Case {
    std::string id;
    int interval_ms;
    grpc::StatusCode code;
  };
  for (const Case& c : {Case{"missing", 0, grpc::StatusCode::NOT_FOUND},
                        Case{"", 0, grpc::StatusCode::INVALID_ARGUMENT},
                        Case{"w", -1, grpc::StatusCode::INVALID_ARGUMENT},
                        Case{"w", 3600 * 1000 + 1, grpc::StatusCode::INVALID_ARGUMENT}}) {
    grpc::ClientContext context;
    auto reader = Watch(&context, c.id, c.interval_ms);
    v1::Estimate estimate;
    EXPECT_FALSE(reader->Read(&estimate));
    EXPECT_EQ(reader->Finish().error_code(), c.code) << c.id << " " << c.interval_ms;
  }
}

TEST_F(WatchEstimatesReactorTest, CancelledWatchersAreCleanedUp) {
  CreateOrDie("w", SmallConfig(1));
  for (int i = 0; i < 20; ++i) {
    grpc::ClientContext context;
    auto reader = Watch(&context, "w", i % 2 == 0 ? 0 : 50);
    v1::Estimate estimate;
    ASSERT_TRUE(reader->Read(&estimate));
    context.TryCancel();
    while (reader->Read(&estimate)) {
    }
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  // The session keeps working, and deleting it with no watchers left is fine.
  Push("w", 500, 1);
  ASSERT_TRUE(server_->manager().Delete("w").ok());
}

}  // namespace
}  // namespace mine
