// Durability end to end: mine-server processes on one state directory.
// kill -9 at random moments while 4 clients push sequenced batches, restart,
// and check that every acknowledged batch is there exactly once and that
// training resumes from the last checkpoint; a graceful restart brings every
// session and estimate back; damaged state files never stop the start.
#include <stdlib.h>

#include <cstdlib>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/mine_client.h"
#include "client/synthetic_data.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "mine/v1/mine.grpc.pb.h"
#include "tests/support/sequenced_batch.h"
#include "tests/support/server_process.h"

namespace mine {
namespace {

namespace fs = std::filesystem;

constexpr int kClients = 4;
constexpr int kRowsPerBatch = 20;

class DurabilityE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/mine-durability-e2e-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    state_dir_ = pattern;
  }
  void TearDown() override {
    server_.Kill();
    fs::remove_all(state_dir_);
  }

  // Starts (or restarts, on the same port) the server on state_dir_.
  void StartServer(int checkpoint_interval_s = 1) {
    const std::string line = server_.Start(
        {"--host=127.0.0.1", absl::StrCat("--port=", port_), "--workers=2", "--metrics_port=0",
         absl::StrCat("--state_dir=", state_dir_),
         absl::StrCat("--checkpoint_interval_s=", checkpoint_interval_s)});
    const std::string prefix = "mine-server listening on 127.0.0.1:";
    ASSERT_EQ(line.rfind(prefix, 0), 0u) << line;
    ASSERT_TRUE(absl::SimpleAtoi(
        line.substr(prefix.size(), line.find(' ', prefix.size()) - prefix.size()), &port_));
  }

  std::shared_ptr<grpc::Channel> Channel() {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
    return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port_),
                                     grpc::InsecureChannelCredentials(), args);
  }
  std::unique_ptr<v1::MineService::Stub> Stub() { return v1::MineService::NewStub(Channel()); }

  static grpc::Status Call(const std::function<grpc::Status(grpc::ClientContext*)>& rpc) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    context.set_wait_for_ready(true);
    return rpc(&context);
  }

  void CreateSession(v1::MineService::Stub& stub, const std::string& id) {
    v1::CreateSessionRequest request;
    request.set_session_id(id);
    v1::SessionConfig* config = request.mutable_config();
    config->set_x_dim(1);
    config->set_z_dim(1);
    config->add_hidden_units(16);
    config->set_batch_size(32);
    config->set_window_size(2048);
    v1::Session reply;
    grpc::Status s = Call([&](grpc::ClientContext* c) {
      return stub.CreateSession(c, request, &reply);
    });
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  v1::Session GetSession(v1::MineService::Stub& stub, const std::string& id) {
    v1::GetSessionRequest request;
    request.set_session_id(id);
    v1::Session reply;
    grpc::Status s;
    // The first call after a restart may meet the dead server's connection.
    for (int attempt = 0; attempt < 50; ++attempt) {
      s = Call([&](grpc::ClientContext* c) { return stub.GetSession(c, request, &reply); });
      if (s.error_code() != grpc::StatusCode::UNAVAILABLE) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    EXPECT_TRUE(s.ok()) << id << ": " << s.error_message();
    return reply;
  }

  // Pushes batch `sequence` until it is acknowledged (retrying across
  // restarts); returns whether it was acknowledged before `stop`.
  static bool PushUntilAcked(v1::MineService::Stub& stub, const std::string& id,
                             int64_t sequence) {
    const v1::SampleBatch batch = SequencedBatch(id, sequence, kRowsPerBatch);
    for (int attempt = 0; attempt < 600; ++attempt) {
      v1::PushSamplesResponse reply;
      grpc::Status s = Call([&](grpc::ClientContext* c) {
        return stub.PushSamples(c, batch, &reply);
      });
      if (s.ok()) return true;
      EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }

  std::string state_dir_;
  int port_ = 0;
  ServerProcess server_{MINE_SERVER_PATH};
};

TEST_F(DurabilityE2eTest, Kill9WhileStreamingLosesAndDuplicatesNothing) {
  StartServer();
  {
    auto stub = Stub();
    for (int c = 0; c < kClients; ++c) CreateSession(*stub, absl::StrCat("c", c));
  }
  std::atomic<bool> stop{false};
  std::vector<int64_t> acked(kClients, 0);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      auto stub = Stub();
      const std::string id = absl::StrCat("c", c);
      while (!stop.load()) {
        if (!PushUntilAcked(*stub, id, acked[c] + 1)) return;
        ++acked[c];
      }
    });
  }
  std::mt19937 rng(std::random_device{}());
  auto stub = Stub();
  for (int round = 0; round < 3; ++round) {
    absl::SleepFor(absl::Milliseconds(700));
    // A checkpoint (every second) is taken after this reading and before the kill.
    std::vector<int64_t> steps_before;
    for (int c = 0; c < kClients; ++c) {
      steps_before.push_back(GetSession(*stub, absl::StrCat("c", c)).train_steps());
    }
    absl::SleepFor(absl::Milliseconds(2200 + std::uniform_int_distribution<int>(0, 800)(rng)));
    server_.Kill();
    StartServer();
    for (int c = 0; c < kClients; ++c) {
      EXPECT_GE(GetSession(*stub, absl::StrCat("c", c)).train_steps(), steps_before[c])
          << "round " << round << ", client " << c << ": training went back";
    }
  }
  absl::SleepFor(absl::Milliseconds(500));
  stop.store(true);
  for (std::thread& t : clients) t.join();
  for (int c = 0; c < kClients; ++c) {
    const v1::Session s = GetSession(*stub, absl::StrCat("c", c));
    EXPECT_GT(acked[c], 0);
    EXPECT_EQ(s.samples_seen(), acked[c] * kRowsPerBatch) << "client " << c;
    EXPECT_EQ(s.last_sequence(), acked[c]) << "client " << c;
  }
  EXPECT_EQ(server_.Terminate(absl::Seconds(30)), 0);
}

TEST_F(DurabilityE2eTest, GracefulRestartBringsEverySessionAndEstimateBack) {
  StartServer();
  auto stub = Stub();
  for (int c = 0; c < 3; ++c) CreateSession(*stub, absl::StrCat("g", c));
  for (int64_t seq = 1; seq <= 60; ++seq) ASSERT_TRUE(PushUntilAcked(*stub, "g0", seq));
  std::vector<v1::Session> before;
  absl::SleepFor(absl::Seconds(1));
  for (int c = 0; c < 3; ++c) before.push_back(GetSession(*stub, absl::StrCat("g", c)));
  ASSERT_EQ(server_.Terminate(absl::Seconds(30)), 0);
  StartServer();
  for (int c = 0; c < 3; ++c) {
    const v1::Session after = GetSession(*stub, absl::StrCat("g", c));
    EXPECT_EQ(after.samples_seen(), before[c].samples_seen());
    EXPECT_EQ(after.last_sequence(), before[c].last_sequence());
    EXPECT_GE(after.train_steps(), before[c].train_steps());
  }
  // The sequence is remembered: a resent batch is a duplicate.
  v1::SampleBatch batch;
  batch.set_session_id("g0");
  batch.set_sequence(60);
  batch.add_x(0.5f);
  batch.add_z(0.5f);
  v1::PushSamplesResponse reply;
  grpc::Status s = Call([&](grpc::ClientContext* c) { return stub->PushSamples(c, batch, &reply); });
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(reply.duplicate());
  EXPECT_EQ(server_.Terminate(absl::Seconds(30)), 0);
}

TEST_F(DurabilityE2eTest, ClientStreamResumesByItselfAcrossKill9) {
  StartServer();
  auto stub = Stub();
  CreateSession(*stub, "resume");
  MineClientOptions client_options;
  client_options.max_attempts = 20;
  client_options.max_backoff = absl::Milliseconds(500);
  MineClient client(Channel(), client_options);
  SampleStreamWriter::Options options;
  options.batch_rows = 50;
  options.resume_for = absl::Seconds(60);
  absl::StatusOr<std::unique_ptr<SampleStreamWriter>> writer = client.OpenStream("resume", options);
  ASSERT_TRUE(writer.ok()) << writer.status();
  constexpr int kBatches = 200;
  std::thread killer([&] {
    for (int round = 0; round < 2; ++round) {
      absl::SleepFor(absl::Milliseconds(900));
      server_.Kill();
      StartServer();
    }
  });
  CorrelatedGaussian data(1, 0.8, Transform::kNone, 3);
  for (int b = 0; b < kBatches; ++b) {
    std::vector<float> x, z;
    data.Fill(50, &x, &z);
    absl::Status written = (*writer)->WriteRows(50, x, z);
    ASSERT_TRUE(written.ok()) << "batch " << b << ": " << written;
    absl::SleepFor(absl::Milliseconds(15));
  }
  killer.join();
  absl::StatusOr<v1::Estimate> last = (*writer)->Finish();
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_GE((*writer)->reconnects(), 1);
  const v1::Session s = GetSession(*stub, "resume");
  EXPECT_EQ(s.samples_seen(), kBatches * 50);
  EXPECT_EQ(s.last_sequence(), kBatches);
  EXPECT_EQ(server_.Terminate(absl::Seconds(30)), 0);
}

TEST_F(DurabilityE2eTest, MineCliPushResumesAcrossKill9) {
  StartServer();
  auto stub = Stub();
  CreateSession(*stub, "cli");
  const std::string csv = state_dir_ + "/input.csv";
  {
    std::ofstream out(csv);
    out << "x,z\n";
    CorrelatedGaussian data(1, 0.8, Transform::kNone, 5);
    std::vector<float> x, z;
    data.Fill(30000, &x, &z);
    for (size_t i = 0; i < x.size(); ++i) out << x[i] << "," << z[i] << "\n";
  }
  // 300 unary pushes of 100 rows, each fsynced before its reply.
  const std::string command =
      absl::StrCat(MINE_CLI_PATH, " push ", csv, " --session cli --batch-rows 100 --target ",
                   "127.0.0.1:", port_, " --resume-s 60 >/dev/null 2>&1");
  std::thread push([&] { EXPECT_EQ(std::system(command.c_str()), 0); });
  absl::SleepFor(absl::Milliseconds(400));
  server_.Kill();
  StartServer();
  push.join();
  const v1::Session s = GetSession(*stub, "cli");
  EXPECT_EQ(s.samples_seen(), 30000);
  EXPECT_EQ(s.last_sequence(), 300);
  EXPECT_EQ(server_.Terminate(absl::Seconds(30)), 0);
}

TEST_F(DurabilityE2eTest, DamagedStateFilesAreQuarantinedAndTheServerStarts) {
  StartServer(/*checkpoint_interval_s=*/0);  // the batches stay in the log
  {
    auto stub = Stub();
    for (const char* id : {"ok", "torn", "corrupt"}) CreateSession(*stub, id);
    for (int64_t seq = 1; seq <= 5; ++seq) ASSERT_TRUE(PushUntilAcked(*stub, "torn", seq));
  }
  server_.Kill();  // "torn" keeps its batches in the log only
  const std::string sessions = state_dir_ + "/sessions/";
  {
    std::ofstream(sessions + "corrupt/checkpoint", std::ios::binary | std::ios::trunc)
        << "MINECKPT and then nonsense";
  }
  for (const auto& e : fs::directory_iterator(sessions + "torn")) {
    if (e.path().extension() == ".wal" && fs::file_size(e.path()) > 0) {
      fs::resize_file(e.path(), fs::file_size(e.path()) - 7);
    }
  }
  StartServer();
  auto stub = Stub();
  EXPECT_EQ(GetSession(*stub, "ok").samples_seen(), 0);
  EXPECT_EQ(GetSession(*stub, "torn").samples_seen(), 4 * kRowsPerBatch);
  v1::GetSessionRequest request;
  request.set_session_id("corrupt");
  v1::Session reply;
  grpc::Status s = Call([&](grpc::ClientContext* c) { return stub->GetSession(c, request, &reply); });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  int quarantined = 0;
  for (const auto& e : fs::directory_iterator(state_dir_ + "/quarantine")) {
    (void)e;
    ++quarantined;
  }
  EXPECT_EQ(quarantined, 2);
  EXPECT_EQ(server_.Terminate(absl::Seconds(30)), 0);
}

}  // namespace
}  // namespace mine
