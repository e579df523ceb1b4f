#ifndef TESTS_SERVER_SERVICE_TEST_UTIL_H_
#define TESTS_SERVER_SERVICE_TEST_UTIL_H_

// Helpers for the service tests: an in-process MineServer on a free
// loopback port with a stub, small fast session configs and batches of a
// correlated Gaussian.

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "client/synthetic_data.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "mine/v1/mine.grpc.pb.h"
#include "server/service/mine_server.h"

namespace mine::service_testing {

// A small net so that training in tests takes seconds, not minutes.
inline v1::SessionConfig SmallConfig(int dim) {
  v1::SessionConfig config;
  config.set_x_dim(dim);
  config.set_z_dim(dim);
  config.add_hidden_units(32);
  config.add_hidden_units(32);
  config.set_batch_size(64);
  config.set_window_size(4096);
  config.set_seed(7);
  return config;
}

inline MineServerOptions TestOptions() {
  MineServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.manager.workers = 2;
  options.manager.max_sessions = 64;
  options.max_receive_message_bytes = 1 << 20;
  return options;
}

// Appends `rows` rows of a `dim`+`dim` Gaussian with correlation `rho`.
inline v1::SampleBatch GaussianBatch(const std::string& session_id, int64_t rows, int dim,
                                     uint64_t seed, double rho = 0.8) {
  CorrelatedGaussian data(dim, rho, Transform::kNone, seed);
  std::vector<float> x, z;
  data.Fill(rows, &x, &z);
  v1::SampleBatch batch;
  batch.set_session_id(session_id);
  batch.mutable_x()->Add(x.begin(), x.end());
  batch.mutable_z()->Add(z.begin(), z.end());
  return batch;
}

// Resident set size of this process, in bytes (0 if unknown).
inline int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * 4096;
}

// A MineServer on 127.0.0.1:<free port> and a stub connected to it.
class ServiceTest : public ::testing::Test {
 protected:
  void StartServer(const MineServerOptions& options = TestOptions()) {
    absl::StatusOr<std::unique_ptr<MineServer>> server = MineServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(server_->port(), 0);
    stub_ = NewStub();
  }

  std::unique_ptr<v1::MineService::Stub> NewStub() {
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(-1);  // let the server be the one to refuse
    return v1::MineService::NewStub(grpc::CreateCustomChannel(
        "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials(),
        args));
  }

  void TearDown() override {
    stub_.reset();
    if (server_ != nullptr) server_->Shutdown(absl::Seconds(5));
    server_.reset();
  }

  // CreateSession; the session goes to `session` when given.
  grpc::Status Create(const std::string& id, const v1::SessionConfig& config,
                      v1::Session* session = nullptr) {
    grpc::ClientContext context;
    v1::CreateSessionRequest request;
    request.set_session_id(id);
    *request.mutable_config() = config;
    v1::Session ignored;
    return stub_->CreateSession(&context, request, session != nullptr ? session : &ignored);
  }

  v1::Session CreateOrDie(const std::string& id, const v1::SessionConfig& config) {
    grpc::ClientContext context;
    v1::CreateSessionRequest request;
    request.set_session_id(id);
    *request.mutable_config() = config;
    v1::Session session;
    grpc::Status status = stub_->CreateSession(&context, request, &session);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return session;
  }

  std::unique_ptr<MineServer> server_;
  std::unique_ptr<v1::MineService::Stub> stub_;
};

}  // namespace mine::service_testing

#endif  // TESTS_SERVER_SERVICE_TEST_UTIL_H_
