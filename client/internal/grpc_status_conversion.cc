#include "client/internal/grpc_status_conversion.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace mine::client_internal {

namespace {

bool IsResetStream(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::INTERNAL &&
         absl::StrContains(status.error_message(), "RST_STREAM");
}

}  // namespace

bool IsRetryable(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE || IsResetStream(status);
}

absl::Status FromGrpcStatus(const grpc::Status& status, absl::string_view what) {
  if (status.ok()) return absl::OkStatus();
  const int code = static_cast<int>(status.error_code());
  const absl::StatusCode absl_code = IsResetStream(status) ? absl::StatusCode::kUnavailable
                                     : code >= 0 && code <= 16
                                         ? static_cast<absl::StatusCode>(code)
                                         : absl::StatusCode::kUnknown;
  std::string message = status.error_message();
  if (message.empty()) message = absl::StatusCodeToString(absl_code);
  return absl::Status(absl_code, absl::StrCat(what, ": ", message));
}

}  // namespace mine::client_internal
