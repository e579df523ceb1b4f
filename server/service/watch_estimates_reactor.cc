#include "server/service/watch_estimates_reactor.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "server/service/grpc_status.h"

namespace mine {

WatchEstimatesReactor::WatchEstimatesReactor(ServiceContext* context,
                                             const v1::WatchEstimatesRequest& request,
                                             const std::string& tenant)
    : context_(context), interval_(absl::Milliseconds(request.min_interval_ms())) {
  const std::string& id = request.session_id();
  {
    absl::MutexLock lock(&mu_);
    session_id_ = id;
  }
  if (request.min_interval_ms() < 0 || request.min_interval_ms() > kMaxIntervalMs) {
    EndWith(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                         absl::StrCat("min_interval_ms = ", request.min_interval_ms(),
                                      " is out of range: 0..", kMaxIntervalMs)));
    return;
  }
  absl::StatusOr<std::shared_ptr<Session>> session = context_->tenants().Find(tenant, id);
  if (!session.ok()) {
    EndWith(ToGrpcStatus(session.status()));
    return;
  }
  session_ = *std::move(session);
  registered_ = context_->Register(this);
  if (!registered_) {
    EndWith(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down"));
    return;
  }
  context_->reaper().StreamOpened(id);
  // Not under mu_: on a deleted session on_closed runs at once.
  const int64_t subscription = session_->Subscribe(
      [this](const Estimate& e) { OnEstimate(e); },
      // Deleted (NOT_FOUND), or moved to another replica (UNAVAILABLE: retry).
      [this] { EndWith(ToGrpcStatus(session_->closed_status())); });
  {
    absl::MutexLock lock(&mu_);
    subscription_ = subscription;
  }
  OnEstimate(session_->latest_estimate());  // the current state first
}

void WatchEstimatesReactor::Drain() {
  EndWith(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down"));
}

WatchEstimatesReactor::Op WatchEstimatesReactor::NextOp() {
  if (write_in_flight_ || !pending_.has_value()) return Op::kNone;
  const absl::Time now = absl::Now();
  if (now >= last_write_ + interval_) {
    last_write_ = now;
    return TakePending();
  }
  if (timer_ == 0) {  // too soon: come back when the interval has passed
    timer_ = context_->scheduler().RunAt(last_write_ + interval_, [this] {
      {
        absl::MutexLock lock(&mu_);
        timer_ = 0;
      }
      Pump();
    });
  }
  return Op::kNone;
}

void WatchEstimatesReactor::OnDone() {
  int64_t subscription;
  Scheduler::TaskId timer;
  {
    absl::MutexLock lock(&mu_);
    subscription = subscription_;
    timer = timer_;
  }
  // Unsubscribe returns once the session's callbacks cannot run any more;
  // Cancel also waits for a timer callback that is still inside Pump().
  if (subscription != 0) session_->Unsubscribe(subscription);
  context_->scheduler().Cancel(timer);
  if (registered_) {
    context_->Unregister(this);
    context_->reaper().StreamClosed(session_->id());
  }
  delete this;
}

}  // namespace mine
