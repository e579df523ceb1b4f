#ifndef SERVER_SERVICE_STREAM_SAMPLES_REACTOR_H_
#define SERVER_SERVICE_STREAM_SAMPLES_REACTOR_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "mine/v1/mine.pb.h"
#include "server/core/session.h"
#include "server/service/internal/estimate_writer.h"
#include "server/service/service_context.h"

namespace mine {

// One StreamSamples call. Reads a batch, hands it to Session::Ingest (which
// only validates and queues; workers train) and reads the next. When the
// session's queue is full it stops reading and retries the same batch once
// Session::NotifyWhenRoom fires, so HTTP/2 flow control slows the client and
// no accepted row is dropped. Estimates go back as the session publishes
// them, one write in flight, the newest winning. After the client
// half-closes, it waits (via the subscription) for an estimate covering
// every row the session had accepted, writes it, and finishes OK.
// Deletes itself when OnDone has run and no room callback is pending.
//
// Thread-safe: reactions, session callbacks and room callbacks may run
// concurrently (see internal::EstimateWriter).
class StreamSamplesReactor : public internal::EstimateWriter<
                                 grpc::ServerBidiReactor<v1::SampleBatch, v1::Estimate>> {
 public:
  // `context` is borrowed and outlives the call; `tenant` is the caller's.
  explicit StreamSamplesReactor(ServiceContext* context, std::string tenant = "");

  void OnReadDone(bool ok) override;
  void OnDone() override;

 private:
  ~StreamSamplesReactor() override = default;

  absl::Status Bind(const std::string& session_id);
  void OnHalfClose();
  void TryIngest();
  void Unref() ABSL_LOCKS_EXCLUDED(mu_);
  Op NextOp() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void IssueRead() override { StartRead(&request_); }

  ServiceContext* const context_;
  const std::string tenant_;
  // Filled by the read in flight; read by TryIngest until the next StartRead.
  v1::SampleBatch request_;

  int refs_ ABSL_GUARDED_BY(mu_) = 1;  // gRPC's until OnDone, +1 per room wait
  std::shared_ptr<Session> session_ ABSL_GUARDED_BY(mu_);  // after the first batch
  int64_t subscription_ ABSL_GUARDED_BY(mu_) = 0;
  bool read_wanted_ ABSL_GUARDED_BY(mu_) = false;
  bool wrote_any_ ABSL_GUARDED_BY(mu_) = false;
  int64_t written_rows_ ABSL_GUARDED_BY(mu_) = 0;  // samples_seen of the last write
  bool half_closed_ ABSL_GUARDED_BY(mu_) = false;
  int64_t final_rows_ ABSL_GUARDED_BY(mu_) = 0;  // the final estimate covers this many
};

}  // namespace mine

#endif  // SERVER_SERVICE_STREAM_SAMPLES_REACTOR_H_
