#ifndef CLIENT_SAMPLE_STREAM_WRITER_H_
#define CLIENT_SAMPLE_STREAM_WRITER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "grpcpp/grpcpp.h"
#include "mine/v1/mine.grpc.pb.h"

namespace mine {

// One StreamSamples call: takes rows (or whole row-major arrays), sends them
// in SampleBatch messages of `batch_rows` rows (the last one may be
// shorter), hands every Estimate the server writes back to `on_estimate`,
// and Finish() returns the final estimate, which reflects every row sent.
// Dimensions come from the first write; later writes must match.
//
// With Options::resume_for > 0 the writer numbers its batches (SampleBatch
// .sequence, continuing after the session's last one) and keeps each until
// an estimate's last_sequence covers it. When the call breaks with
// UNAVAILABLE (server restart, kill -9, network), it reconnects with backoff
// for up to resume_for, asks the server for the last sequence it accepted,
// and resends only the batches after it: nothing is lost or applied twice.
//
// Not thread-safe: one thread writes. `on_estimate` runs on an internal
// reader thread, one call at a time. Made by MineClient::OpenStream.
class SampleStreamWriter {
 public:
  struct Options {
    // Rows per SampleBatch message, >= 1.
    int64_t batch_rows = 1024;
    // Called for each estimate the server writes back (the newest wins on
    // the server, so not every batch gets one).
    std::function<void(const v1::Estimate&)> on_estimate;
    // How long to keep reconnecting after the call fails with UNAVAILABLE;
    // zero: fail at once (no sequence numbers are set).
    absl::Duration resume_for = absl::ZeroDuration();
  };

  using Stream = grpc::ClientReaderWriterInterface<v1::SampleBatch, v1::Estimate>;
  struct Call {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<Stream> stream;
  };
  // What a resuming writer needs from its client: a new call, and the
  // highest sequence the session has accepted (GetSession.last_sequence).
  struct Reconnector {
    std::function<absl::StatusOr<Call>()> open;
    std::function<absl::StatusOr<int64_t>()> last_sequence;
    int64_t first_sequence;  // of the first batch this writer sends; < 1 means 1
  };

  // Takes over a started call. `context` and `stream` belong to one call.
  SampleStreamWriter(std::string session_id, Options options,
                     std::unique_ptr<grpc::ClientContext> context,
                     std::unique_ptr<grpc::ClientReaderWriterInterface<v1::SampleBatch, v1::Estimate>>
                         stream,
                     Reconnector reconnector = {});
  ~SampleStreamWriter();  // cancels the call unless Finish() ran
  SampleStreamWriter(const SampleStreamWriter&) = delete;
  SampleStreamWriter& operator=(const SampleStreamWriter&) = delete;

  // One row. INVALID_ARGUMENT if a dimension is 0 or differs from earlier
  // rows; after a send failure, the call's status (and Finish() returns it).
  absl::Status WriteRow(absl::Span<const float> x, absl::Span<const float> z);
  // `rows` rows, row-major: x.size() == rows * x_dim, z.size() == rows * z_dim.
  absl::Status WriteRows(int64_t rows, absl::Span<const float> x, absl::Span<const float> z);
  // Sends the rows buffered so far as one (short) batch.
  absl::Status Flush();
  // Flushes, half-closes and waits for the final estimate. Call once.
  absl::StatusOr<v1::Estimate> Finish();

  int64_t rows_sent() const { return rows_sent_; }
  int64_t rows_buffered() const { return buffered_rows_; }
  int64_t batches_sent() const { return batches_sent_; }
  int64_t reconnects() const { return reconnects_; }

 private:
  absl::Status CheckDims(int x_dim, int z_dim);
  absl::Status SendBuffered();
  // Ends a failed call: joins the reader and records the call's status.
  absl::Status FailedStatus();
  void ReadLoop();
  bool resuming() const { return options_.resume_for > absl::ZeroDuration(); }
  // Sends `batch` and keeps it until acknowledged.
  absl::Status SendAndKeep(v1::SampleBatch batch);
  // After a failed call: reconnect and resend what the server lacks, or the
  // failure when it is not UNAVAILABLE or resume_for has passed.
  absl::Status Resume(grpc::Status broken);
  void DropAcknowledged(int64_t last_sequence);

  const std::string session_id_;
  const Options options_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReaderWriterInterface<v1::SampleBatch, v1::Estimate>> stream_;
  std::thread reader_;

  int x_dim_ = 0;
  int z_dim_ = 0;
  v1::SampleBatch pending_;
  int64_t buffered_rows_ = 0;
  int64_t rows_sent_ = 0;
  int64_t batches_sent_ = 0;
  bool finished_ = false;
  absl::Status failure_;  // set once the call has failed
  Reconnector reconnector_;
  int64_t next_sequence_ = 1;
  std::deque<v1::SampleBatch> unacknowledged_;  // resuming only, ascending sequence
  int64_t reconnects_ = 0;

  absl::Mutex mu_;
  bool has_estimate_ ABSL_GUARDED_BY(mu_) = false;
  v1::Estimate last_estimate_ ABSL_GUARDED_BY(mu_);
  int64_t acknowledged_ ABSL_GUARDED_BY(mu_) = 0;  // highest last_sequence seen
};

}  // namespace mine

#endif  // CLIENT_SAMPLE_STREAM_WRITER_H_
