#ifndef SERVER_SERVICE_INTERNAL_ESTIMATE_WRITER_H_
#define SERVER_SERVICE_INTERNAL_ESTIMATE_WRITER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "mine/v1/mine.pb.h"
#include "server/core/alert_history.h"
#include "server/core/estimate.h"
#include "server/service/proto_convert.h"

namespace mine::internal {

// What the streaming reactors that write Estimates share: a one-slot queue
// where the newest estimate wins, at most one write in flight, and an end
// status that finishes the call once the write in flight is done.
//
// Every gRPC operation is issued by Pump(), outside mu_, by one thread at a
// time (a thread that finds another pumping leaves it a note and returns),
// so reactions, session callbacks and timers may all call Pump() and an
// operation that completes inline cannot deadlock. Nothing is issued after
// Finish. `Reactor` is grpc::ServerWriteReactor<v1::Estimate> or
// grpc::ServerBidiReactor<Request, v1::Estimate>.
template <typename Reactor>
class EstimateWriter : public Reactor {
 public:
  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      write_in_flight_ = false;
      if (!ok && !end_status_.has_value()) {
        end_status_ = grpc::Status(grpc::StatusCode::CANCELLED, "the write failed");
      }
    }
    Pump();
  }

  void OnCancel() override {
    EndWith(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the client"));
  }

 protected:
  enum class Op { kNone, kRead, kWrite, kFinish };

  EstimateWriter() = default;
  ~EstimateWriter() override = default;

  // Queues `estimate` unless this or a newer version was queued before; an
  // unwritten older one is replaced, but its alerts are kept: they go out
  // with the next write.
  void OnEstimate(const Estimate& estimate) ABSL_LOCKS_EXCLUDED(mu_) {
    {
      absl::MutexLock lock(&mu_);
      if (end_status_.has_value() || estimate.version < next_version_) return;
      pending_alerts_.insert(pending_alerts_.end(), estimate.alerts.begin(),
                             estimate.alerts.end());
      // A client that stops reading must not grow this without bound: keep
      // the newest, as the session's own history does (GetSession).
      if (pending_alerts_.size() > AlertHistory::kCapacity) {
        pending_alerts_.erase(pending_alerts_.begin(),
                              pending_alerts_.end() - AlertHistory::kCapacity);
      }
      pending_ = estimate;
      next_version_ = estimate.version + 1;
    }
    Pump();
  }

  // Finishes with `status` once no write is in flight. The first call wins.
  void EndWith(grpc::Status status) ABSL_LOCKS_EXCLUDED(mu_) {
    {
      absl::MutexLock lock(&mu_);
      if (end_status_.has_value()) return;
      end_status_ = std::move(status);
    }
    Pump();
  }

  void Pump() ABSL_LOCKS_EXCLUDED(mu_) {
    {
      absl::MutexLock lock(&mu_);
      if (pumping_) {
        repump_ = true;
        return;
      }
      pumping_ = true;
    }
    for (;;) {
      Op op = Op::kNone;
      grpc::Status status;
      {
        absl::MutexLock lock(&mu_);
        if (finished_) {
          // Nothing may be issued after Finish.
        } else if (end_status_.has_value()) {
          // Alerts waiting behind pacing go out before the call ends (not
          // to a client that cancelled: it reads nothing more).
          if (!write_in_flight_) {
            const bool flush = pending_.has_value() && !pending_alerts_.empty() &&
                               end_status_->error_code() != grpc::StatusCode::CANCELLED;
            op = flush ? TakePending() : Op::kFinish;
          }
        } else {
          op = NextOp();
        }
        if (op == Op::kFinish) {
          finished_ = true;
          status = end_status_.value_or(grpc::Status::OK);
        }
        if (op == Op::kNone) {
          if (repump_) {
            repump_ = false;
            continue;
          }
          pumping_ = false;
          return;
        }
      }
      switch (op) {
        case Op::kRead:
          IssueRead();
          break;
        case Op::kWrite:
          this->StartWrite(&response_);
          break;
        case Op::kFinish:
          this->Finish(status);
          break;
        case Op::kNone:
          break;
      }
    }
  }

  // The next operation when the call has not been ended: kWrite via
  // TakePending(), kRead, kFinish (with OK) or kNone.
  virtual Op NextOp() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) = 0;
  // Starts a read (bidi reactors only).
  virtual void IssueRead() {}

  bool ending() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return end_status_.has_value(); }

  // Moves the pending estimate into the write buffer. REQUIRES: pending_
  // and no write in flight.
  Op TakePending() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    pending_->alerts = std::move(pending_alerts_);
    pending_alerts_.clear();
    ToProto(*pending_, session_id_, &response_);
    pending_.reset();
    write_in_flight_ = true;
    return Op::kWrite;
  }

  mutable absl::Mutex mu_;
  std::string session_id_ ABSL_GUARDED_BY(mu_);  // of the estimates written
  std::optional<Estimate> pending_ ABSL_GUARDED_BY(mu_);
  // Alerts of every estimate queued since the last write, oldest first.
  std::vector<AlertEvent> pending_alerts_ ABSL_GUARDED_BY(mu_);
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;

 private:
  uint64_t next_version_ ABSL_GUARDED_BY(mu_) = 0;  // lowest version not yet queued
  std::optional<grpc::Status> end_status_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;  // Finish issued
  bool pumping_ ABSL_GUARDED_BY(mu_) = false;
  bool repump_ ABSL_GUARDED_BY(mu_) = false;
  v1::Estimate response_;  // owned by the write in flight
};

}  // namespace mine::internal

#endif  // SERVER_SERVICE_INTERNAL_ESTIMATE_WRITER_H_
