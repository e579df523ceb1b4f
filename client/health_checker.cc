#include "client/health_checker.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "client/internal/grpc_status_conversion.h"
#include "grpcpp/generic/generic_stub.h"

namespace mine {
namespace {

constexpr char kCheckMethod[] = "/grpc.health.v1.Health/Check";

std::string EncodeRequest(const std::string& service) {
  std::string out;
  if (service.empty()) return out;
  out.push_back(0x0a);  // field 1, length-delimited
  size_t length = service.size();
  while (length >= 0x80) {
    out.push_back(static_cast<char>((length & 0x7f) | 0x80));
    length >>= 7;
  }
  out.push_back(static_cast<char>(length));
  return out + service;
}

// Field 1 (varint) of HealthCheckResponse; 0 (UNKNOWN) when absent.
int DecodeStatus(const std::string& bytes) {
  int status = 0;
  size_t i = 0;
  while (i < bytes.size()) {
    const unsigned char tag = static_cast<unsigned char>(bytes[i++]);
    if ((tag & 7) != 0) break;  // only varints are expected
    uint64_t value = 0;
    for (int shift = 0; i < bytes.size() && shift < 64; shift += 7) {
      const unsigned char b = static_cast<unsigned char>(bytes[i++]);
      value |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) break;
    }
    if ((tag >> 3) == 1) status = static_cast<int>(value);
  }
  return status;
}

}  // namespace

HealthChecker::HealthChecker(std::shared_ptr<grpc::Channel> channel)
    : channel_(std::move(channel)) {}

absl::StatusOr<std::string> HealthChecker::Check(const std::string& service,
                                                 absl::Duration timeout) {
  grpc::GenericStub stub(channel_);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(timeout));
  const std::string encoded = EncodeRequest(service);
  grpc::Slice slice(encoded);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(&context, kCheckMethod, grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!status.ok()) {
    return client_internal::FromGrpcStatus(status,
                                           absl::StrCat("grpc.health.v1.Health/Check(", service, ")"));
  }
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (response.Dump(&slices).ok()) {
    for (const grpc::Slice& s : slices) {
      bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
  }
  switch (DecodeStatus(bytes)) {
    case 1:
      return std::string("SERVING");
    case 2:
      return std::string("NOT_SERVING");
    case 3:
      return std::string("SERVICE_UNKNOWN");
    default:
      return std::string("UNKNOWN");
  }
}

}  // namespace mine
