#ifndef CLIENT_MINE_CLIENT_H_
#define CLIENT_MINE_CLIENT_H_

// A C++ client of mine.v1.MineService: session lifecycle, pushes, estimates,
// streaming writes and watches, each failure an absl::Status with the gRPC
// code kept.
//
//   MineClient client(grpc::CreateChannel("localhost:50051", grpc::InsecureChannelCredentials()));
//   (TLS: MakeChannel in client/channel_factory.h; a token: MineClientOptions::bearer_token.)
//   absl::StatusOr<v1::Session> session = client.CreateSession("s1", config);
//   auto writer = client.OpenStream("s1");  // (*writer)->WriteRows(...); (*writer)->Finish();

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/sample_stream_writer.h"
#include "grpcpp/grpcpp.h"
#include "mine/v1/mine.grpc.pb.h"

namespace mine {

struct MineClientOptions {
  // Deadline of every unary call (each attempt); must be > 0.
  absl::Duration timeout = absl::Seconds(10);
  // Attempts of a unary call that fails with UNAVAILABLE (or whose stream a
  // proxy reset), the first included; 1 disables retries. Other codes are
  // never retried. Behind replicas on a shared state dir, a session whose
  // replica died is UNAVAILABLE for up to the server's --lease_ttl_s: to
  // ride that out inside one call, choose attempts and backoff that add up
  // to more (the defaults wait about 0.7 s in all).
  int max_attempts = 4;
  // Delay before the second attempt; multiplied by backoff_multiplier after
  // each, capped at max_backoff, and scaled by a uniform factor in
  // [1 - jitter, 1 + jitter].
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  double backoff_multiplier = 2.0;
  double jitter = 0.2;
  // Seed of the jitter; 0: random.
  uint64_t jitter_seed = 0;
  // Sent as `authorization: Bearer <token>` on every call; empty: none.
  std::string bearer_token;
};

// Wraps a MineService stub. Every call sends `x-session-id` request metadata
// (empty when the call names no session) so that a proxy can route all calls
// of a session to one server. Unary calls carry a deadline and are retried
// on UNAVAILABLE with exponential backoff and jitter; PushSamples retries can
// only be told apart from the first try by the server when the batch carries
// a sequence number, so set one when duplicates matter.
//
// Thread-safe: any number of threads may call it at once. Owns its stub.
class MineClient {
 public:
  explicit MineClient(std::shared_ptr<grpc::Channel> channel, MineClientOptions options = {});
  // For tests: e.g. a v1::MockMineServiceStub.
  explicit MineClient(std::unique_ptr<v1::MineService::StubInterface> stub,
                      MineClientOptions options = {});
  MineClient(const MineClient&) = delete;
  MineClient& operator=(const MineClient&) = delete;

  // `session_id` empty: the server picks one (see the returned Session).
  absl::StatusOr<v1::Session> CreateSession(const std::string& session_id,
                                            const v1::SessionConfig& config);
  absl::StatusOr<v1::Session> GetSession(const std::string& session_id);
  // One page; page_size 0 means the server default (100).
  absl::StatusOr<v1::ListSessionsResponse> ListSessions(int page_size = 0,
                                                        const std::string& page_token = "");
  // Every page, in session_id order.
  absl::StatusOr<std::vector<v1::Session>> ListAllSessions();
  absl::Status DeleteSession(const std::string& session_id);

  absl::StatusOr<v1::PushSamplesResponse> PushSamples(const v1::SampleBatch& batch);
  absl::StatusOr<v1::Estimate> GetEstimate(const std::string& session_id);

  // Opens a StreamSamples call on `session_id`. The writer owns the call;
  // this client must outlive it. Streams have no deadline.
  absl::StatusOr<std::unique_ptr<SampleStreamWriter>> OpenStream(
      const std::string& session_id, SampleStreamWriter::Options options = {});

  // Calls `callback` with the current estimate and then with every change,
  // at most one per `min_interval`, until the callback returns false (then
  // OK), the server ends the call (its status: NOT_FOUND when the session is
  // deleted) or the connection breaks. Blocks; no deadline.
  absl::Status Watch(const std::string& session_id, absl::Duration min_interval,
                     const std::function<bool(const v1::Estimate&)>& callback);

  const MineClientOptions& options() const { return options_; }

 private:
  using UnaryCall = std::function<grpc::Status(grpc::ClientContext*)>;

  // Runs `call` with a fresh context (deadline + metadata) per attempt,
  // retrying on UNAVAILABLE and reset streams. `what` names the call in
  // error messages.
  absl::Status CallWithRetries(const std::string& what, const std::string& session_id,
                               const UnaryCall& call);
  uint64_t NextJitterSeed();

  const MineClientOptions options_;
  std::unique_ptr<v1::MineService::StubInterface> stub_;
  absl::Mutex seed_mu_;
  uint64_t seed_state_ ABSL_GUARDED_BY(seed_mu_);
};

}  // namespace mine

#endif  // CLIENT_MINE_CLIENT_H_
