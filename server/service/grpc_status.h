#ifndef SERVER_SERVICE_GRPC_STATUS_H_
#define SERVER_SERVICE_GRPC_STATUS_H_

#include <cstddef>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace mine {

// Longest status message sent to a client, in bytes; longer ones are cut at
// a UTF-8 boundary and end in "...".
inline constexpr size_t kMaxStatusMessageBytes = 1024;

// The gRPC status for a core status: the same canonical code (absl and gRPC
// number them alike; a code outside 0..16 becomes UNKNOWN) and the message,
// capped at kMaxStatusMessageBytes.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace mine

#endif  // SERVER_SERVICE_GRPC_STATUS_H_
