#ifndef CLIENT_INTERNAL_GRPC_STATUS_CONVERSION_H_
#define CLIENT_INTERNAL_GRPC_STATUS_CONVERSION_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"

namespace mine::client_internal {

// grpc::Status -> absl::Status with the same canonical code (the two enums
// share their values) and "<what>: <server message>" as the message.
absl::Status FromGrpcStatus(const grpc::Status& status, absl::string_view what);

}  // namespace mine::client_internal

#endif  // CLIENT_INTERNAL_GRPC_STATUS_CONVERSION_H_
