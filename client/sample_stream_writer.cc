#include "client/sample_stream_writer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client/internal/backoff.h"
#include "client/internal/grpc_status_conversion.h"

namespace mine {
namespace {

// A call that ended this way may be resumed: the server went away (restart,
// kill, network, a proxy resetting the stream), ended the stream while
// draining, or moved the session to another replica.
bool Resumable(const grpc::Status& status) {
  return status.ok() || client_internal::IsRetryable(status) ||
         status.error_code() == grpc::StatusCode::CANCELLED;
}

}  // namespace

SampleStreamWriter::SampleStreamWriter(
    std::string session_id, Options options, std::unique_ptr<grpc::ClientContext> context,
    std::unique_ptr<grpc::ClientReaderWriterInterface<v1::SampleBatch, v1::Estimate>> stream,
    Reconnector reconnector)
    : session_id_(std::move(session_id)),
      options_(std::move(options)),
      context_(std::move(context)),
      stream_(std::move(stream)),
      reconnector_(std::move(reconnector)),
      next_sequence_(std::max<int64_t>(reconnector_.first_sequence, 1)) {
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
      acknowledged_ = std::max(acknowledged_, estimate.last_sequence());
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
  // A resumed call starts with a resent batch, so every batch names the session.
  if (batches_sent_ == 0 || resuming()) pending_.set_session_id(session_id_);
  v1::SampleBatch batch;
  batch.Swap(&pending_);
  const int64_t rows = buffered_rows_;
  buffered_rows_ = 0;
  if (absl::Status sent = SendAndKeep(std::move(batch)); !sent.ok()) return sent;
  rows_sent_ += rows;
  ++batches_sent_;
  return absl::OkStatus();
}

void SampleStreamWriter::DropAcknowledged(int64_t last_sequence) {
  while (!unacknowledged_.empty() && unacknowledged_.front().sequence() <= last_sequence) {
    unacknowledged_.pop_front();
  }
}

absl::Status SampleStreamWriter::SendAndKeep(v1::SampleBatch batch) {
  if (!resuming()) return stream_->Write(batch) ? absl::OkStatus() : FailedStatus();
  batch.set_sequence(next_sequence_++);
  {
    absl::MutexLock lock(&mu_);
    DropAcknowledged(acknowledged_);
  }
  unacknowledged_.push_back(std::move(batch));
  if (stream_->Write(unacknowledged_.back())) return absl::OkStatus();
  reader_.join();  // the call is over; the reader sees its end too
  return Resume(stream_->Finish());
}

absl::Status SampleStreamWriter::Resume(grpc::Status broken) {
  const std::string what = absl::StrCat("StreamSamples(", session_id_, ")");
  const absl::Time deadline = absl::Now() + options_.resume_for;
  client_internal::Backoff backoff(absl::Milliseconds(100), absl::Seconds(2), 2.0, 0.2,
                                   static_cast<uint64_t>(absl::ToUnixNanos(absl::Now())));
  grpc::Status status = std::move(broken);
  absl::Status last_error;
  if (!reconnector_.open || !reconnector_.last_sequence) {
    status = grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "resume_for is set but the writer has no reconnector "
                          "(open it with MineClient::OpenStream)");
  }
  for (;;) {
    if (!Resumable(status)) {
      finished_ = true;
      failure_ = client_internal::FromGrpcStatus(status, what);
      return failure_;
    }
    if (absl::Now() >= deadline) {
      finished_ = true;
      failure_ = absl::UnavailableError(absl::StrCat(
          what, ": could not resume the stream within ", absl::FormatDuration(options_.resume_for),
          " (", status.error_message(), last_error.ok() ? "" : "; ", last_error.message(), ")"));
      return failure_;
    }
    absl::SleepFor(backoff.NextDelay());
    absl::StatusOr<int64_t> accepted = reconnector_.last_sequence();
    if (!accepted.ok()) {
      last_error = accepted.status();
      if (accepted.status().code() != absl::StatusCode::kUnavailable &&
          accepted.status().code() != absl::StatusCode::kDeadlineExceeded) {
        finished_ = true;
        failure_ = accepted.status();
        return failure_;
      }
      continue;
    }
    DropAcknowledged(*accepted);
    absl::StatusOr<Call> call = reconnector_.open();
    if (!call.ok()) {
      last_error = call.status();
      continue;
    }
    context_ = std::move(call->context);
    stream_ = std::move(call->stream);
    ++reconnects_;
    reader_ = std::thread([this] { ReadLoop(); });
    bool written = true;
    for (const v1::SampleBatch& batch : unacknowledged_) {
      if (!stream_->Write(batch)) {
        written = false;
        break;
      }
    }
    if (written) return absl::OkStatus();
    reader_.join();
    status = stream_->Finish();
  }
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
  for (;;) {
    stream_->WritesDone();
    reader_.join();
    grpc::Status status = stream_->Finish();
    if (status.ok()) break;
    if (!resuming()) {
      finished_ = true;
      failure_ = client_internal::FromGrpcStatus(
          status, absl::StrCat("StreamSamples(", session_id_, ")"));
      return failure_;
    }
    if (absl::Status resumed = Resume(status); !resumed.ok()) return resumed;
  }
  finished_ = true;
  absl::MutexLock lock(&mu_);
  if (!has_estimate_) {
    return absl::InternalError(
        absl::StrCat("StreamSamples(", session_id_, "): the server sent no final estimate"));
  }
  return last_estimate_;
}

}  // namespace mine
