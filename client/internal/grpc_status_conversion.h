#ifndef CLIENT_INTERNAL_GRPC_STATUS_CONVERSION_H_
#define CLIENT_INTERNAL_GRPC_STATUS_CONVERSION_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"

namespace mine::client_internal {

// grpc::Status -> absl::Status with the same canonical code (the two enums
// share their values) and "<what>: <server message>" as the message. A reset
// stream becomes UNAVAILABLE (see IsRetryable).
absl::Status FromGrpcStatus(const grpc::Status& status, absl::string_view what);

// UNAVAILABLE, or a call whose HTTP/2 stream was reset under it. A proxy
// (nginx grpc_pass) whose replica dies mid-call resets the client's stream
// (RST_STREAM INTERNAL_ERROR), which gRPC reports as INTERNAL: the server's
// answer is unknown, exactly as with UNAVAILABLE, so it is retried the same
// way (sequenced batches make resending safe).
bool IsRetryable(const grpc::Status& status);

}  // namespace mine::client_internal

#endif  // CLIENT_INTERNAL_GRPC_STATUS_CONVERSION_H_
