#ifndef CLIENT_CHANNEL_FACTORY_H_
#define CLIENT_CHANNEL_FACTORY_H_

// Channels to mine-server: plaintext, TLS, or mutual TLS.
//
//   ChannelOptions options{"mine.example:50051", /*tls=*/true, "ca.pem"};
//   absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(options);
//   MineClientOptions client_options;
//   client_options.bearer_token = token;  // optional
//   MineClient client(*channel, client_options);

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace mine {

struct ChannelOptions {
  std::string target = "localhost:50051";
  // TLS on. Implied by any file below.
  bool tls = false;
  // PEM CA bundle that signs the server's certificate; empty: the system roots.
  std::string ca_file;
  // This client's PEM certificate and key, for mutual TLS (both or neither).
  std::string cert_file;
  std::string key_file;
  // Largest message sent; -1: unlimited (the server enforces its own).
  int max_send_message_bytes = -1;
};

// A channel as `options` says, or INVALID_ARGUMENT / NOT_FOUND when a file
// is missing or only one of cert_file and key_file is given. Connects lazily.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ChannelOptions& options);

}  // namespace mine

#endif  // CLIENT_CHANNEL_FACTORY_H_
