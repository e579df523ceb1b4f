#include "server/service/stream_samples_reactor.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "server/service/grpc_status.h"

namespace mine {

StreamSamplesReactor::StreamSamplesReactor(ServiceContext* context, std::string tenant)
    : context_(context), tenant_(std::move(tenant)) {
  {
    absl::MutexLock lock(&mu_);
    read_wanted_ = true;
  }
  Pump();
}

void StreamSamplesReactor::OnReadDone(bool ok) {
  if (!ok) {
    OnHalfClose();
    return;
  }
  std::shared_ptr<Session> session;
  {
    absl::MutexLock lock(&mu_);
    session = session_;
  }
  if (session == nullptr) {
    if (absl::Status status = Bind(request_.session_id()); !status.ok()) {
      EndWith(ToGrpcStatus(status));
      return;
    }
  } else if (!request_.session_id().empty() && request_.session_id() != session->id()) {
    EndWith(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("session_id '", request_.session_id().substr(0, 128),
                     "' differs from this stream's session '", session->id(),
                     "'; one stream feeds one session")));
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    session = session_;
  }
  // Charged once per batch, before TryIngest, which may retry the batch.
  if (absl::Status quota = context_->tenants().AdmitRows(
          tenant_, request_.x().size() / std::max(1, session->config().x_dim));
      !quota.ok()) {
    context_->RecordIngest(quota, 0);
    EndWith(ToGrpcStatus(quota));
    return;
  }
  TryIngest();
}

absl::Status StreamSamplesReactor::Bind(const std::string& session_id) {
  if (session_id.empty()) {
    return absl::InvalidArgumentError(
        "session_id is empty; the first SampleBatch of a stream must name the session");
  }
  absl::StatusOr<std::shared_ptr<Session>> session = context_->tenants().Find(tenant_, session_id);
  if (!session.ok()) return session.status();
  {
    absl::MutexLock lock(&mu_);
    session_ = *session;
    session_id_ = session_id;
  }
  context_->reaper().StreamOpened(session_id);
  // Not under mu_: on a deleted session on_closed runs at once.
  const int64_t subscription = (*session)->Subscribe(
      [this](const Estimate& e) { OnEstimate(e); },
      // Deleted (NOT_FOUND), or moved to another replica (UNAVAILABLE: retry).
      [this, closing = session->get()] { EndWith(ToGrpcStatus(closing->closed_status())); });
  absl::MutexLock lock(&mu_);
  subscription_ = subscription;
  return absl::OkStatus();
}

void StreamSamplesReactor::TryIngest() {
  std::shared_ptr<Session> session;
  {
    absl::MutexLock lock(&mu_);
    if (ending()) return;
    session = session_;
  }
  absl::StatusOr<IngestResult> result =
      session->Ingest(absl::MakeConstSpan(request_.x().data(), request_.x().size()),
                      absl::MakeConstSpan(request_.z().data(), request_.z().size()),
                      request_.sequence());
  if (result.ok() || result.status().code() != absl::StatusCode::kResourceExhausted) {
    // A full queue is retried below, not refused.
    context_->RecordIngest(result.status(), result.ok() ? result->accepted_rows : 0);
  }
  if (result.ok()) {
    OnEstimate(session->latest_estimate());
    {
      absl::MutexLock lock(&mu_);
      read_wanted_ = true;
    }
    Pump();
    return;
  }
  if (result.status().code() == absl::StatusCode::kResourceExhausted) {
    // The queue is full: keep the batch, read nothing more, retry when the
    // workers have drained the queue (or the session closed: then Ingest
    // answers NOT_FOUND). An empty queue takes any valid batch, so this
    // retries at most once per drain.
    {
      absl::MutexLock lock(&mu_);
      ++refs_;
    }
    session->NotifyWhenRoom([this] {
      TryIngest();
      Unref();
    });
    return;
  }
  EndWith(ToGrpcStatus(result.status()));
}

void StreamSamplesReactor::OnHalfClose() {
  std::shared_ptr<Session> session;
  {
    absl::MutexLock lock(&mu_);
    session = session_;
  }
  if (session == nullptr) {  // the client sent nothing
    EndWith(grpc::Status::OK);
    return;
  }
  // Every row this stream got accepted is counted in samples_seen now.
  const int64_t rows = session->status().samples_seen;
  {
    absl::MutexLock lock(&mu_);
    half_closed_ = true;
    final_rows_ = rows;
  }
  OnEstimate(session->latest_estimate());
  Pump();
}

StreamSamplesReactor::Op StreamSamplesReactor::NextOp() {
  if (!write_in_flight_ && pending_.has_value()) {
    written_rows_ = pending_->samples_seen;
    wrote_any_ = true;
    return TakePending();
  }
  if (read_wanted_) {
    read_wanted_ = false;
    return Op::kRead;
  }
  if (half_closed_ && !write_in_flight_ && wrote_any_ && written_rows_ >= final_rows_) {
    return Op::kFinish;  // the final estimate is written
  }
  return Op::kNone;
}

void StreamSamplesReactor::OnDone() {
  std::shared_ptr<Session> session;
  int64_t subscription;
  {
    absl::MutexLock lock(&mu_);
    session = session_;
    subscription = subscription_;
  }
  if (session != nullptr) {
    // Returns once the callbacks cannot run any more.
    if (subscription != 0) session->Unsubscribe(subscription);
    context_->reaper().StreamClosed(session->id());
  }
  Unref();
}

void StreamSamplesReactor::Unref() {
  bool last;
  {
    absl::MutexLock lock(&mu_);
    last = --refs_ == 0;
  }
  if (last) delete this;
}

}  // namespace mine
