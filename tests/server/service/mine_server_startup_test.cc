// MineServer's life cycle as a probe sees it: the port opens while the state
// dir is still being restored (health NOT_SERVING, MineService UNAVAILABLE),
// then SERVING once every session is back, then NOT_SERVING again when the
// drain starts. The restore is held at its progress hook, so every state is
// observed for certain, without sleeps.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "client/health_checker.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "tests/server/service/test_util.h"

namespace mine {
namespace {

using service_testing::GaussianBatch;
using service_testing::SmallConfig;
using service_testing::TestOptions;

constexpr char kService[] = "mine.v1.MineService";

// A grpc.health.v1.Health/Watch call for one service name, read message by
// message (each a one-field HealthCheckResponse: 08 01 SERVING, 08 02
// NOT_SERVING).
class HealthWatch {
 public:
  HealthWatch(const std::shared_ptr<grpc::Channel>& channel, const std::string& service)
      : stub_(channel) {
    call_ = stub_.PrepareCall(&context_, "/grpc.health.v1.Health/Watch", &cq_);
    call_->StartCall(Tag(1));
    Await(1);
    std::string request = {0x0a, static_cast<char>(service.size())};
    request += service;
    grpc::Slice slice(request);
    grpc::ByteBuffer buffer(&slice, 1);
    call_->Write(buffer, Tag(2));
    Await(2);
    call_->WritesDone(Tag(3));
    Await(3);
  }
  ~HealthWatch() {
    context_.TryCancel();
    grpc::Status status;
    call_->Finish(&status, Tag(5));
    cq_.Shutdown();
    void* tag;
    bool ok;
    while (cq_.Next(&tag, &ok)) {
    }
  }

  // The next status update: "\x08\x01" and so on; "" if the call ended.
  std::string Next() {
    grpc::ByteBuffer buffer;
    call_->Read(&buffer, Tag(4));
    if (!Await(4)) return "";
    std::vector<grpc::Slice> slices;
    if (!buffer.Dump(&slices).ok()) return "";
    std::string bytes;
    for (const grpc::Slice& s : slices) bytes += std::string(s.begin(), s.end());
    return bytes;
  }

 private:
  static void* Tag(intptr_t n) { return reinterpret_cast<void*>(n); }
  // Waits (at most 30 s, so a hang fails instead of blocking) for `tag`.
  bool Await(intptr_t tag) {
    void* got;
    bool ok = false;
    const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(30);
    if (cq_.AsyncNext(&got, &ok, deadline) != grpc::CompletionQueue::GOT_EVENT) return false;
    EXPECT_EQ(got, Tag(tag));
    return ok;
  }

  grpc::GenericStub stub_;
  grpc::ClientContext context_;
  grpc::CompletionQueue cq_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call_;
};

class MineServerStartupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_dir_ = absl::StrCat("/tmp/mine-startup-test-", getpid());
    std::filesystem::remove_all(state_dir_);
    options_ = TestOptions();
    options_.manager.persistence.state_dir = state_dir_;
  }
  void TearDown() override { std::filesystem::remove_all(state_dir_); }

  std::shared_ptr<grpc::Channel> Channel(int port) {
    return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                               grpc::InsecureChannelCredentials());
  }

  std::string state_dir_;
  MineServerOptions options_;
};

TEST_F(MineServerStartupTest, NotServingWhileRestoringThenServingThenNotServingOnDrain) {
  // A state dir with two sessions in it.
  {
    absl::StatusOr<std::unique_ptr<MineServer>> first = MineServer::Start(options_);
    ASSERT_TRUE(first.ok()) << first.status();
    auto stub = v1::MineService::NewStub(Channel((*first)->port()));
    for (const char* id : {"a", "b"}) {
      grpc::ClientContext create_context;
      v1::CreateSessionRequest create;
      create.set_session_id(id);
      *create.mutable_config() = SmallConfig(1);
      v1::Session session;
      ASSERT_TRUE(stub->CreateSession(&create_context, create, &session).ok());
      grpc::ClientContext push_context;
      v1::PushSamplesResponse pushed;
      ASSERT_TRUE(stub->PushSamples(&push_context, GaussianBatch(id, 100, 1, 1), &pushed).ok());
    }
    (*first)->Shutdown(absl::Seconds(5));
  }

  // Restore again, held after the first session until the test lets go.
  absl::Notification first_restored, release;
  absl::Mutex mu;
  std::vector<std::pair<int, int>> progress;
  options_.restore_progress = [&](int done, int total) {
    {
      absl::MutexLock lock(&mu);
      progress.emplace_back(done, total);
    }
    if (done == 1) {
      first_restored.Notify();
      release.WaitForNotification();
    }
  };
  absl::StatusOr<std::unique_ptr<MineServer>> server = MineServer::Listen(options_);
  ASSERT_TRUE(server.ok()) << server.status();
  absl::Status restored;
  std::thread restore([&] { restored = (*server)->RestoreAndServe(); });
  first_restored.WaitForNotification();

  std::shared_ptr<grpc::Channel> channel = Channel((*server)->port());
  HealthChecker health(channel);
  for (const std::string service : {"", kService}) {
    absl::StatusOr<std::string> status = health.Check(service, absl::Seconds(10));
    ASSERT_TRUE(status.ok()) << status.status();
    EXPECT_EQ(*status, "NOT_SERVING") << "service '" << service << "'";
  }
  auto stub = v1::MineService::NewStub(channel);
  {
    grpc::ClientContext context;
    v1::GetSessionRequest request;
    request.set_session_id("a");  // restored already, still refused
    v1::Session session;
    const grpc::Status status = stub->GetSession(&context, request, &session);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_NE(status.error_message().find("restoring state"), std::string::npos)
        << status.error_message();
  }
  {
    grpc::ClientContext context;
    v1::ListSessionsRequest request;
    v1::ListSessionsResponse response;
    EXPECT_EQ(stub->ListSessions(&context, request, &response).error_code(),
              grpc::StatusCode::UNAVAILABLE);
  }
  auto watch = std::make_unique<HealthWatch>(channel, kService);
  EXPECT_EQ(watch->Next(), std::string("\x08\x02", 2));  // NOT_SERVING

  release.Notify();
  restore.join();
  ASSERT_TRUE(restored.ok()) << restored;
  EXPECT_EQ(watch->Next(), std::string("\x08\x01", 2));  // SERVING
  for (const std::string service : {"", kService}) {
    absl::StatusOr<std::string> status = health.Check(service, absl::Seconds(10));
    ASSERT_TRUE(status.ok()) << status.status();
    EXPECT_EQ(*status, "SERVING") << "service '" << service << "'";
  }
  {
    grpc::ClientContext context;
    v1::ListSessionsRequest request;
    v1::ListSessionsResponse response;
    ASSERT_TRUE(stub->ListSessions(&context, request, &response).ok());
    ASSERT_EQ(response.sessions_size(), 2);
    EXPECT_EQ(response.sessions(1).samples_seen(), 100);
  }
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(progress, (std::vector<std::pair<int, int>>{{0, 2}, {1, 2}, {2, 2}}));
  }

  // The drain: the watcher is told NOT_SERVING before the server stops.
  std::thread drain([&] { (*server)->Shutdown(absl::Seconds(5)); });
  EXPECT_EQ(watch->Next(), std::string("\x08\x02", 2));
  watch.reset();  // the drain waits for calls in flight, this one included
  drain.join();
}

}  // namespace
}  // namespace mine
