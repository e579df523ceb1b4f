#ifndef CLIENT_HEALTH_CHECKER_H_
#define CLIENT_HEALTH_CHECKER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"

namespace mine {

// The standard grpc.health.v1.Health/Check call, without a generated stub:
// the two tiny messages are encoded by hand (one string field in, one enum
// field out). Thread-safe.
//
//   HealthChecker health(channel);
//   absl::StatusOr<std::string> s = health.Check("mine.v1.MineService", absl::Seconds(5));
class HealthChecker {
 public:
  explicit HealthChecker(std::shared_ptr<grpc::Channel> channel);

  // The serving status name ("SERVING", "NOT_SERVING", "UNKNOWN",
  // "SERVICE_UNKNOWN") of `service` ("" for the whole server), or the
  // call's error (NOT_FOUND for a service the server does not know).
  absl::StatusOr<std::string> Check(const std::string& service, absl::Duration timeout);

 private:
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace mine

#endif  // CLIENT_HEALTH_CHECKER_H_
