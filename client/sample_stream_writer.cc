#include "client/sample_stream_writer.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "client/internal/grpc_status_conversion.h"

namespace mine {

SampleStreamWriter::SampleStreamWriter(
    std::string session_id, Options options, std::unique_ptr<grpc::ClientContext> context,
    std::unique_ptr<grpc::ClientReaderWriterInterface<v1::SampleBatch, v1::Estimate>> stream)
    : session_id_(std::move(session_id)),
      options_(std::move(options)),
      context_(std::move(context)),
      stream_(std::move(stream)) {
  reader_ = std::thread([this] { ReadLoop(); });
}

SampleStreamWriter::~SampleStreamWriter() {
  if (reader_.joinable()) {
    context_->TryCancel();
    reader_.join();
  }
  if (!finished_) stream_->Finish();
}

void SampleStreamWriter::ReadLoop() {
  v1::Estimate estimate;
  while (stream_->Read(&estimate)) {
    {
      absl::MutexLock lock(&mu_);
      last_estimate_ = estimate;
      has_estimate_ = true;
    }
    if (options_.on_estimate) options_.on_estimate(estimate);
  }
}

absl::Status SampleStreamWriter::CheckDims(int x_dim, int z_dim) {
  if (x_dim < 1 || z_dim < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("StreamSamples(", session_id_, "): a row needs at least one x and one z "
                     "value, got x_dim ", x_dim, ", z_dim ", z_dim));
  }
  if (x_dim_ == 0) {
    x_dim_ = x_dim;
    z_dim_ = z_dim;
  } else if (x_dim != x_dim_ || z_dim != z_dim_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "StreamSamples(", session_id_, "): row has x_dim ", x_dim, ", z_dim ", z_dim,
        " but earlier rows had ", x_dim_, ", ", z_dim_));
  }
  return absl::OkStatus();
}

absl::Status SampleStreamWriter::WriteRow(absl::Span<const float> x, absl::Span<const float> z) {
  return WriteRows(1, x, z);
}

absl::Status SampleStreamWriter::WriteRows(int64_t rows, absl::Span<const float> x,
                                           absl::Span<const float> z) {
  if (finished_) return absl::FailedPreconditionError("StreamSamples: write after Finish()");
  if (!failure_.ok()) return failure_;
  if (rows < 1 || x.size() % rows != 0 || z.size() % rows != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("StreamSamples(", session_id_, "): ", x.size(), " x and ", z.size(),
                     " z values do not make ", rows, " rows"));
  }
  absl::Status dims = CheckDims(static_cast<int>(x.size() / rows), static_cast<int>(z.size() / rows));
  if (!dims.ok()) return dims;
  int64_t row = 0;
  while (row < rows) {
    const int64_t take = std::min(rows - row, options_.batch_rows - buffered_rows_);
    pending_.mutable_x()->Add(x.begin() + row * x_dim_, x.begin() + (row + take) * x_dim_);
    pending_.mutable_z()->Add(z.begin() + row * z_dim_, z.begin() + (row + take) * z_dim_);
    buffered_rows_ += take;
    row += take;
    if (buffered_rows_ >= options_.batch_rows) {
      absl::Status sent = SendBuffered();
      if (!sent.ok()) return sent;
    }
  }
  return absl::OkStatus();
}

absl::Status SampleStreamWriter::Flush() {
  if (finished_) return absl::FailedPreconditionError("StreamSamples: flush after Finish()");
  if (!failure_.ok()) return failure_;
  return SendBuffered();
}

absl::Status SampleStreamWriter::SendBuffered() {
  if (buffered_rows_ == 0) return absl::OkStatus();
  if (batches_sent_ == 0) pending_.set_session_id(session_id_);
  if (!stream_->Write(pending_)) return FailedStatus();
  rows_sent_ += buffered_rows_;
  ++batches_sent_;
  buffered_rows_ = 0;
  pending_.Clear();
  return absl::OkStatus();
}

absl::Status SampleStreamWriter::FailedStatus() {
  if (!failure_.ok()) return failure_;
  // A failed Write means the call is over; the reader sees the end too.
  reader_.join();
  finished_ = true;
  grpc::Status status = stream_->Finish();
  failure_ = status.ok() ? absl::UnavailableError(absl::StrCat(
                               "StreamSamples(", session_id_, "): the stream closed early"))
                         : client_internal::FromGrpcStatus(
                               status, absl::StrCat("StreamSamples(", session_id_, ")"));
  return failure_;
}

absl::StatusOr<v1::Estimate> SampleStreamWriter::Finish() {
  if (!failure_.ok()) return failure_;
  if (finished_) return absl::FailedPreconditionError("StreamSamples: Finish() called twice");
  absl::Status sent = SendBuffered();
  if (!sent.ok()) return sent;
  stream_->WritesDone();
  reader_.join();
  finished_ = true;
  grpc::Status status = stream_->Finish();
  if (!status.ok()) {
    failure_ = client_internal::FromGrpcStatus(status,
                                               absl::StrCat("StreamSamples(", session_id_, ")"));
    return failure_;
  }
  absl::MutexLock lock(&mu_);
  if (!has_estimate_) {
    return absl::InternalError(
        absl::StrCat("StreamSamples(", session_id_, "): the server sent no final estimate"));
  }
  return last_estimate_;
}

}  // namespace mine
