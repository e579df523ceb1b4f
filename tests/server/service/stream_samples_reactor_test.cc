// StreamSamples against an in-process server: binding, errors, the final
// estimate after half-close, backpressure without loss, many streams at
// once, and bounded memory against a slow session.
#include "server/service/stream_samples_reactor.h"

#include <algorithm>
#include <atomic>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/server/service/test_util.h"

namespace mine {
namespace {

using service_testing::GaussianBatch;
using service_testing::ResidentBytes;
using service_testing::ServiceTest;
using service_testing::SmallConfig;
using service_testing::TestOptions;

using Stream = grpc::ClientReaderWriter<v1::SampleBatch, v1::Estimate>;

struct StreamResult {
  grpc::Status status;
  std::vector<v1::Estimate> estimates;
  int64_t rows_sent = 0;
};

class StreamSamplesReactorTest : public ServiceTest {
 protected:
  // Writes `batches` batches of `rows` rows (only the first names the
  // session), reading estimates concurrently, then half-closes and reads
  // to the end.
  StreamResult StreamGaussian(v1::MineService::Stub* stub, const std::string& id, int batches,
                              int64_t rows, int dim, uint64_t seed) {
    StreamResult result;
    grpc::ClientContext context;
    std::unique_ptr<Stream> stream = stub->StreamSamples(&context);
    std::thread reader([&] {
      v1::Estimate estimate;
      while (stream->Read(&estimate)) result.estimates.push_back(estimate);
    });
    for (int i = 0; i < batches; ++i) {
      v1::SampleBatch batch = GaussianBatch(i == 0 ? id : "", rows, dim, seed * 100000 + i);
      if (!stream->Write(batch)) break;
      result.rows_sent += rows;
    }
    stream->WritesDone();
    reader.join();
    result.status = stream->Finish();
    return result;
  }

  // Starts a server with one worker whose sessions take at most
  // `pending_values` queued values: a client writing as fast as it can
  // outpaces training (a slice of steps per drained queue), so the queue
  // fills and the stream must wait for room.
  void StartSlowServer(int64_t pending_values) {
    MineServerOptions options = TestOptions();
    options.manager.workers = 1;
    options.manager.session.max_pending_values = pending_values;
    StartServer(options);
  }
};

TEST_F(StreamSamplesReactorTest, FinalEstimateReflectsEveryRowOfTheStream) {
  StartServer();
  CreateOrDie("s", SmallConfig(2));
  StreamResult result = StreamGaussian(stub_.get(), "s", 20, 100, 2, 1);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  ASSERT_FALSE(result.estimates.empty());
  EXPECT_EQ(result.estimates.back().samples_seen(), result.rows_sent);
  EXPECT_EQ(result.estimates.back().session_id(), "s");
  for (size_t i = 1; i < result.estimates.size(); ++i) {
    EXPECT_GT(result.estimates[i].version(), result.estimates[i - 1].version());
  }
}

TEST_F(StreamSamplesReactorTest, EmptyStreamEndsOk) {
  StartServer();
  grpc::ClientContext context;
  std::unique_ptr<Stream> stream = stub_->StreamSamples(&context);
  stream->WritesDone();
  v1::Estimate estimate;
  EXPECT_FALSE(stream->Read(&estimate));
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(StreamSamplesReactorTest, FirstBatchWithoutSessionIdIsInvalidArgument) {
  StartServer();
  CreateOrDie("s", SmallConfig(1));
  StreamResult result = StreamGaussian(stub_.get(), "", 1, 10, 1, 1);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(result.status.error_message().find("session_id"), std::string::npos);
}

TEST_F(StreamSamplesReactorTest, UnknownSessionIsNotFound) {
  StartServer();
  StreamResult result = StreamGaussian(stub_.get(), "missing", 1, 10, 1, 1);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(StreamSamplesReactorTest, LaterBatchNamingAnotherSessionIsInvalidArgument) {
  StartServer();
  CreateOrDie("one", SmallConfig(1));
  CreateOrDie("two", SmallConfig(1));
  grpc::ClientContext context;
  std::unique_ptr<Stream> stream = stub_->StreamSamples(&context);
  ASSERT_TRUE(stream->Write(GaussianBatch("one", 10, 1, 1)));
  stream->Write(GaussianBatch("two", 10, 1, 2));
  stream->WritesDone();
  v1::Estimate estimate;
  while (stream->Read(&estimate)) {
  }
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(StreamSamplesReactorTest, NanOrMismatchedBatchEndsTheStreamWithInvalidArgument) {
  StartServer();
  CreateOrDie("s", SmallConfig(2));
  for (int variant = 0; variant < 2; ++variant) {
    grpc::ClientContext context;
    std::unique_ptr<Stream> stream = stub_->StreamSamples(&context);
    ASSERT_TRUE(stream->Write(GaussianBatch("s", 10, 2, 1)));
    v1::SampleBatch bad = GaussianBatch("", 10, 2, 2);
    if (variant == 0) {
      bad.set_z(3, std::numeric_limits<float>::infinity());
    } else {
      bad.mutable_x()->RemoveLast();
      bad.mutable_x()->RemoveLast();
    }
    stream->Write(bad);
    stream->WritesDone();
    v1::Estimate estimate;
    while (stream->Read(&estimate)) {
    }
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT) << variant;
  }
}

TEST_F(StreamSamplesReactorTest, OversizedMessageIsResourceExhausted) {
  StartServer();
  CreateOrDie("s", SmallConfig(1));
  StreamResult result = StreamGaussian(stub_.get(), "s", 1, 200000, 1, 1);  // 1.6 MB > 1 MiB
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(StreamSamplesReactorTest, DeletingTheSessionEndsTheStreamWithNotFound) {
  StartServer();
  CreateOrDie("s", SmallConfig(1));
  grpc::ClientContext context;
  std::unique_ptr<Stream> stream = stub_->StreamSamples(&context);
  ASSERT_TRUE(stream->Write(GaussianBatch("s", 100, 1, 1)));
  v1::Estimate estimate;
  ASSERT_TRUE(stream->Read(&estimate));  // the stream is bound and running
  ASSERT_TRUE(server_->manager().Delete("s").ok());
  while (stream->Read(&estimate)) {
  }
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(StreamSamplesReactorTest, BackpressureLosesNoBatch) {
  // Queues of 512 values (256 rows of 1+1 dims): a stream of 100 batches of
  // 200 rows must wait for room again and again.
  StartSlowServer(512);
  CreateOrDie("s", SmallConfig(1));
  std::atomic<bool> done{false};
  std::atomic<int64_t> max_pending{0};
  std::thread monitor([&] {
    std::shared_ptr<Session> session = server_->manager().Get("s").value();
    while (!done.load()) {
      const int64_t pending = session->status().pending_rows;
      max_pending.store(std::max(max_pending.load(), pending));
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  StreamResult result = StreamGaussian(stub_.get(), "s", 100, 200, 1, 3);
  done.store(true);
  monitor.join();
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.rows_sent, 20000);
  ASSERT_FALSE(result.estimates.empty());
  EXPECT_EQ(result.estimates.back().samples_seen(), result.rows_sent);
  std::shared_ptr<Session> session = server_->manager().Get("s").value();
  EXPECT_EQ(session->status().samples_seen, result.rows_sent);
  // Never more queued than the bound plus one batch.
  EXPECT_LE(max_pending.load(), 256 + 200);
}

TEST_F(StreamSamplesReactorTest, EightClientsStreamIntoEightSessionsAtOnce) {
  StartServer();
  constexpr int kClients = 8;
  std::vector<StreamResult> results(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    CreateOrDie("c" + std::to_string(i), SmallConfig(2));
  }
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([this, i, &results] {
      std::unique_ptr<v1::MineService::Stub> stub = NewStub();
      results[i] = StreamGaussian(stub.get(), "c" + std::to_string(i), 25, 100, 2, i + 1);
    });
  }
  for (std::thread& t : clients) t.join();
  for (int i = 0; i < kClients; ++i) {
    ASSERT_TRUE(results[i].status.ok()) << i << ": " << results[i].status.error_message();
    ASSERT_FALSE(results[i].estimates.empty()) << i;
    EXPECT_EQ(results[i].estimates.back().samples_seen(), 2500) << i;
    EXPECT_EQ(results[i].estimates.back().session_id(), "c" + std::to_string(i));
  }
}

TEST_F(StreamSamplesReactorTest, FastWriterIntoSlowSessionKeepsServerMemoryBounded) {
  // 64k queued values (256 KiB) per session. The client pushes 64 MiB of
  // floats as fast as it can; if the server buffered instead of pushing
  // back, this process (client and server) would grow by about that much.
  constexpr int64_t kPendingValues = 1 << 16;
  StartSlowServer(kPendingValues);
  CreateOrDie("s", SmallConfig(4));
  // A first stream warms up allocator arenas and gRPC buffers, so the
  // baseline below already includes them.
  ASSERT_TRUE(StreamGaussian(stub_.get(), "s", 32, 4096, 4, 4).status.ok());
  std::atomic<bool> done{false};
  std::atomic<int64_t> max_pending{0};
  std::atomic<int64_t> max_rss{0};
  const int64_t rss_before = ResidentBytes();
  std::thread monitor([&] {
    std::shared_ptr<Session> session = server_->manager().Get("s").value();
    while (!done.load()) {
      max_pending.store(std::max(max_pending.load(), session->status().pending_rows));
      max_rss.store(std::max(max_rss.load(), ResidentBytes()));
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  // 512 batches x 4096 rows x (4 + 4) floats x 4 bytes = 64 MiB.
  StreamResult result = StreamGaussian(stub_.get(), "s", 512, 4096, 4, 5);
  done.store(true);
  monitor.join();
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.estimates.back().samples_seen(), 32 * 4096 + result.rows_sent);
  const int64_t rows_bound = kPendingValues / 8 + 4096;  // the queue plus one batch
  EXPECT_LE(max_pending.load(), rows_bound);
  const int64_t growth = max_rss.load() - rss_before;
  std::printf("RSS growth while streaming 64 MiB: %.1f MiB; most rows queued: %lld\n",
              growth / 1048576.0, static_cast<long long>(max_pending.load()));
  EXPECT_LT(growth, int64_t{32} << 20);
}

}  // namespace
}  // namespace mine
