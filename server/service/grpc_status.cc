#include "server/service/grpc_status.h"

#include <string>

namespace mine {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const int raw = static_cast<int>(status.code());
  const grpc::StatusCode code = raw > 0 && raw <= grpc::StatusCode::UNAUTHENTICATED
                                    ? static_cast<grpc::StatusCode>(raw)
                                    : grpc::StatusCode::UNKNOWN;
  std::string message(status.message());
  if (message.size() > kMaxStatusMessageBytes) {
    size_t cut = kMaxStatusMessageBytes - 3;
    // Back up over UTF-8 continuation bytes so no character is split.
    while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) --cut;
    message.resize(cut);
    message += "...";
  }
  return grpc::Status(code, message);
}

}  // namespace mine
