#ifndef CLIENT_SAMPLE_STREAM_WRITER_H_
#define CLIENT_SAMPLE_STREAM_WRITER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
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
  };

  // Takes over a started call. `context` and `stream` belong to one call.
  SampleStreamWriter(std::string session_id, Options options,
                     std::unique_ptr<grpc::ClientContext> context,
                     std::unique_ptr<grpc::ClientReaderWriterInterface<v1::SampleBatch, v1::Estimate>>
                         stream);
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

 private:
  absl::Status CheckDims(int x_dim, int z_dim);
  absl::Status SendBuffered();
  // Ends a failed call: joins the reader and records the call's status.
  absl::Status FailedStatus();
  void ReadLoop();

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

  absl::Mutex mu_;
  bool has_estimate_ ABSL_GUARDED_BY(mu_) = false;
  v1::Estimate last_estimate_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mine

#endif  // CLIENT_SAMPLE_STREAM_WRITER_H_
