// Failover end to end: two mine-server processes (replicas "a" and "b") on
// one state directory with --shared_state. A client pushes sequenced
// batches; when its "router" switches replica, the session's lease moves
// (handoff by the live owner, or expiry after a kill -9) and the session
// continues there with every acknowledged batch applied exactly once.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "mine/v1/mine.grpc.pb.h"
#include "tests/support/sequenced_batch.h"
#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"

namespace mine {
namespace {

constexpr int kRowsPerBatch = 20;
constexpr int kLeaseTtlS = 2;

class FailoverE2eTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(state_dir_.empty()); }
  void TearDown() override {
    for (auto& r : replicas_) r.process->Kill();
  }

  struct Replica {
    std::unique_ptr<ServerProcess> process;
    int port = 0;
    std::unique_ptr<v1::MineService::Stub> stub;
  };

  // Starts replica `name` (or restarts it on its port).
  void Start(int index, const std::string& name) {
    if (replicas_.size() <= static_cast<size_t>(index)) replicas_.resize(index + 1);
    Replica& r = replicas_[index];
    if (r.process == nullptr) r.process = std::make_unique<ServerProcess>(MINE_SERVER_PATH);
    const std::string line = r.process->Start(
        {"--host=127.0.0.1", absl::StrCat("--port=", r.port), "--workers=1", "--metrics_port=0",
         absl::StrCat("--state_dir=", state_dir_), "--shared_state",
         absl::StrCat("--replica_id=", name), absl::StrCat("--lease_ttl_s=", kLeaseTtlS),
         "--checkpoint_interval_s=1"});
    const std::string prefix = "mine-server listening on 127.0.0.1:";
    ASSERT_EQ(line.rfind(prefix, 0), 0u) << line;
    ASSERT_TRUE(absl::SimpleAtoi(
        line.substr(prefix.size(), line.find(' ', prefix.size()) - prefix.size()), &r.port));
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
    r.stub = v1::MineService::NewStub(grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", r.port), grpc::InsecureChannelCredentials(), args));
  }

  static grpc::Status Call(const std::function<grpc::Status(grpc::ClientContext*)>& rpc) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    return rpc(&context);
  }

  void Create(int replica, const std::string& id) {
    v1::CreateSessionRequest request;
    request.set_session_id(id);
    request.mutable_config()->set_x_dim(1);
    request.mutable_config()->set_z_dim(1);
    request.mutable_config()->add_hidden_units(16);
    request.mutable_config()->set_batch_size(32);
    request.mutable_config()->set_window_size(2048);
    v1::Session reply;
    grpc::Status s = Call([&](grpc::ClientContext* c) {
      return replicas_[replica].stub->CreateSession(c, request, &reply);
    });
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // GetSession on `replica`, retried while the lease is elsewhere.
  v1::Session Get(int replica, const std::string& id) {
    v1::GetSessionRequest request;
    request.set_session_id(id);
    v1::Session reply;
    grpc::Status s;
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    do {
      s = Call([&](grpc::ClientContext* c) {
        return replicas_[replica].stub->GetSession(c, request, &reply);
      });
      if (s.error_code() != grpc::StatusCode::UNAVAILABLE) break;
      absl::SleepFor(absl::Milliseconds(100));
    } while (absl::Now() < deadline);
    EXPECT_TRUE(s.ok()) << id << " on replica " << replica << ": " << s.error_message();
    return reply;
  }

  // Pushes batch `sequence` to the replica `target` names until one
  // acknowledges it; UNAVAILABLE (lease elsewhere, replica dead) is retried.
  // Returns whether it was a duplicate.
  bool PushUntilAcked(const std::atomic<int>& target, const std::string& id, int64_t sequence) {
    const v1::SampleBatch batch = SequencedBatch(id, sequence, kRowsPerBatch);
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline) {
      v1::PushSamplesResponse reply;
      grpc::Status s = Call([&](grpc::ClientContext* c) {
        return replicas_[target.load()].stub->PushSamples(c, batch, &reply);
      });
      if (s.ok()) return reply.duplicate();
      EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
      absl::SleepFor(absl::Milliseconds(50));
    }
    ADD_FAILURE() << "batch " << sequence << " never acknowledged";
    return false;
  }

  std::string LeaseOwner(const std::string& id) {
    std::ifstream in(state_dir_ + "/sessions/" + id + "/lease");
    std::string magic, owner;
    in >> magic >> owner;
    return owner;
  }

  TempDir dir_{"mine-failover-e2e"};
  const std::string state_dir_ = dir_.path();
  std::vector<Replica> replicas_;
};

TEST_F(FailoverE2eTest, HandoffUnderLoadLosesAndDuplicatesNothing) {
  Start(0, "a");
  Start(1, "b");
  Create(0, "h1");
  std::atomic<int> target{0};
  std::atomic<bool> stop{false};
  int64_t acked = 0;
  std::thread pusher([&] {
    while (!stop.load()) {
      EXPECT_FALSE(PushUntilAcked(target, "h1", acked + 1));
      ++acked;
    }
  });
  // The "router" moves the session to b and back to a while batches flow.
  for (int to : {1, 0, 1}) {
    absl::SleepFor(absl::Seconds(1));
    target.store(to);
    const v1::Session s = Get(to, "h1");
    EXPECT_EQ(LeaseOwner("h1"), to == 0 ? "a" : "b");
    EXPECT_GT(s.samples_seen(), 0);
  }
  absl::SleepFor(absl::Seconds(1));
  stop.store(true);
  pusher.join();
  const v1::Session s = Get(1, "h1");
  EXPECT_GT(acked, 10);
  EXPECT_EQ(s.samples_seen(), acked * kRowsPerBatch);
  EXPECT_EQ(s.last_sequence(), acked);
  // A resend of an acknowledged batch, on either replica, is a duplicate.
  EXPECT_TRUE(PushUntilAcked(target, "h1", acked));
  EXPECT_EQ(Get(1, "h1").samples_seen(), acked * kRowsPerBatch);
}

TEST_F(FailoverE2eTest, Kill9OfTheOwnerMovesItsSessionsWithNothingLost) {
  Start(0, "a");
  Start(1, "b");
  Create(0, "k1");
  Create(0, "k2");
  std::atomic<int> target{0};
  for (int64_t seq = 1; seq <= 30; ++seq) {
    EXPECT_FALSE(PushUntilAcked(target, "k1", seq));
    EXPECT_FALSE(PushUntilAcked(target, "k2", seq));
  }
  replicas_[0].process->Kill();
  // b takes them over once a's leases expire (about --lease_ttl_s).
  target.store(1);
  for (const char* id : {"k1", "k2"}) {
    const v1::Session s = Get(1, id);
    EXPECT_EQ(s.samples_seen(), 30 * kRowsPerBatch) << id;
    EXPECT_EQ(s.last_sequence(), 30) << id;
    EXPECT_EQ(LeaseOwner(id), "b");
  }
  for (int64_t seq = 30; seq <= 40; ++seq) {
    EXPECT_EQ(PushUntilAcked(target, "k1", seq), seq == 30);
  }
  // a comes back as the same replica: nothing loads until asked, then the
  // session moves back with b's batches.
  Start(0, "a");
  target.store(0);
  const v1::Session back = Get(0, "k1");
  EXPECT_EQ(back.samples_seen(), 40 * kRowsPerBatch);
  EXPECT_EQ(LeaseOwner("k1"), "a");
  EXPECT_EQ(LeaseOwner("k2"), "b");
}

TEST_F(FailoverE2eTest, GracefulShutdownGivesTheLeasesBack) {
  Start(0, "a");
  Start(1, "b");
  Create(0, "g1");
  std::atomic<int> target{0};
  for (int64_t seq = 1; seq <= 10; ++seq) EXPECT_FALSE(PushUntilAcked(target, "g1", seq));
  EXPECT_EQ(replicas_[0].process->Terminate(absl::Seconds(30)), 0);
  // Checkpointed and released: free at once, no expiry to wait for.
  EXPECT_EQ(LeaseOwner("g1"), "-");
  const v1::Session s = Get(1, "g1");
  EXPECT_EQ(s.samples_seen(), 10 * kRowsPerBatch);
  EXPECT_EQ(s.last_sequence(), 10);
}

}  // namespace
}  // namespace mine
