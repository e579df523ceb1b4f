#ifndef SERVER_SERVICE_WATCH_ESTIMATES_REACTOR_H_
#define SERVER_SERVICE_WATCH_ESTIMATES_REACTOR_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "mine/v1/mine.pb.h"
#include "server/core/session.h"
#include "server/service/internal/estimate_writer.h"
#include "server/service/scheduler.h"
#include "server/service/service_context.h"

namespace mine {

// One WatchEstimates call: writes the session's current estimate, then each
// newer one, at most one per min_interval (a Scheduler timer paces it; the
// newest estimate wins) and one write in flight. Ends with NOT_FOUND when
// the session is deleted, UNAVAILABLE when the server drains, CANCELLED when
// the client goes away. Deletes itself in OnDone.
//
// Thread-safe: reactions, session callbacks, timers and Drain may run
// concurrently (see internal::EstimateWriter).
class WatchEstimatesReactor
    : public internal::EstimateWriter<grpc::ServerWriteReactor<v1::Estimate>>,
      public Drainable {
 public:
  static constexpr int kMaxIntervalMs = 3600 * 1000;

  // `context` is borrowed and outlives the call; `tenant` is the caller's.
  WatchEstimatesReactor(ServiceContext* context, const v1::WatchEstimatesRequest& request,
                        const std::string& tenant = "");

  void OnDone() override;
  void Drain() override;

 private:
  ~WatchEstimatesReactor() override = default;

  Op NextOp() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  ServiceContext* const context_;
  const absl::Duration interval_;
  std::shared_ptr<Session> session_;  // set in the constructor, then read-only
  bool registered_ = false;           // likewise

  int64_t subscription_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_write_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  Scheduler::TaskId timer_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace mine

#endif  // SERVER_SERVICE_WATCH_ESTIMATES_REACTOR_H_
