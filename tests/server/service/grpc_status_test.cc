#include "server/service/grpc_status.h"

#include <string>

#include "gtest/gtest.h"

namespace mine {
namespace {

TEST(GrpcStatusTest, KeepsEveryCanonicalCode) {
  for (int code = 0; code <= 16; ++code) {
    const absl::Status status(static_cast<absl::StatusCode>(code), code == 0 ? "" : "why");
    const grpc::Status mapped = ToGrpcStatus(status);
    EXPECT_EQ(static_cast<int>(mapped.error_code()), code);
    if (code != 0) EXPECT_EQ(mapped.error_message(), "why");
  }
  EXPECT_EQ(ToGrpcStatus(absl::FailedPreconditionError("x")).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ToGrpcStatus(absl::UnavailableError("x")).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST(GrpcStatusTest, UnknownCodesBecomeUnknown) {
  EXPECT_EQ(ToGrpcStatus(absl::Status(static_cast<absl::StatusCode>(99), "x")).error_code(),
            grpc::StatusCode::UNKNOWN);
}

TEST(GrpcStatusTest, CapsLongMessagesWithoutSplittingCharacters) {
  std::string message;
  while (message.size() < 3 * kMaxStatusMessageBytes) message += "\xc3\xa9";  // é
  const grpc::Status mapped = ToGrpcStatus(absl::InvalidArgumentError(message));
  EXPECT_LE(mapped.error_message().size(), kMaxStatusMessageBytes);
  EXPECT_EQ(mapped.error_message().substr(mapped.error_message().size() - 3), "...");
  const std::string body = mapped.error_message().substr(0, mapped.error_message().size() - 3);
  EXPECT_EQ(body.size() % 2, 0u);  // whole two-byte characters only
}

}  // namespace
}  // namespace mine
