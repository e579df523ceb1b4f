#include "client/mine_client.h"

#include <chrono>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/internal/backoff.h"
#include "client/internal/grpc_status_conversion.h"

namespace mine {
namespace {

constexpr char kSessionIdKey[] = "x-session-id";

void PrepareContext(grpc::ClientContext* context, const std::string& session_id,
                    const std::string& bearer_token) {
  context->AddMetadata(kSessionIdKey, session_id);
  if (!bearer_token.empty()) context->AddMetadata("authorization", "Bearer " + bearer_token);
}

}  // namespace

MineClient::MineClient(std::shared_ptr<grpc::Channel> channel, MineClientOptions options)
    : MineClient(v1::MineService::NewStub(std::move(channel)), std::move(options)) {}

MineClient::MineClient(std::unique_ptr<v1::MineService::StubInterface> stub,
                       MineClientOptions options)
    : options_(std::move(options)),
      stub_(std::move(stub)),
      seed_state_(options_.jitter_seed != 0 ? options_.jitter_seed : std::random_device{}()) {}

uint64_t MineClient::NextJitterSeed() {
  absl::MutexLock lock(&seed_mu_);
  seed_state_ = seed_state_ * 6364136223846793005ULL + 1442695040888963407ULL;
  return seed_state_;
}

absl::Status MineClient::CallWithRetries(const std::string& what, const std::string& session_id,
                                         const UnaryCall& call) {
  client_internal::Backoff backoff(options_.initial_backoff, options_.max_backoff,
                                   options_.backoff_multiplier, options_.jitter,
                                   NextJitterSeed());
  const int attempts = std::max(1, options_.max_attempts);
  grpc::Status status;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    if (attempt > 1) absl::SleepFor(backoff.NextDelay());
    grpc::ClientContext context;
    PrepareContext(&context, session_id, options_.bearer_token);
    context.set_deadline(std::chrono::system_clock::now() +
                         absl::ToChronoNanoseconds(options_.timeout));
    status = call(&context);
    if (!client_internal::IsRetryable(status)) break;
  }
  if (client_internal::IsRetryable(status) && attempts > 1) {
    return client_internal::FromGrpcStatus(
        status, absl::StrCat(what, " (gave up after ", attempts, " attempts)"));
  }
  return client_internal::FromGrpcStatus(status, what);
}

absl::StatusOr<v1::Session> MineClient::CreateSession(const std::string& session_id,
                                                      const v1::SessionConfig& config) {
  v1::CreateSessionRequest request;
  request.set_session_id(session_id);
  *request.mutable_config() = config;
  v1::Session response;
  absl::Status status =
      CallWithRetries("CreateSession", session_id, [&](grpc::ClientContext* context) {
        return stub_->CreateSession(context, request, &response);
      });
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<v1::Session> MineClient::GetSession(const std::string& session_id) {
  v1::GetSessionRequest request;
  request.set_session_id(session_id);
  v1::Session response;
  absl::Status status =
      CallWithRetries("GetSession", session_id, [&](grpc::ClientContext* context) {
        return stub_->GetSession(context, request, &response);
      });
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<v1::ListSessionsResponse> MineClient::ListSessions(int page_size,
                                                                  const std::string& page_token) {
  v1::ListSessionsRequest request;
  request.set_page_size(page_size);
  request.set_page_token(page_token);
  v1::ListSessionsResponse response;
  absl::Status status = CallWithRetries("ListSessions", "", [&](grpc::ClientContext* context) {
    return stub_->ListSessions(context, request, &response);
  });
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<std::vector<v1::Session>> MineClient::ListAllSessions() {
  std::vector<v1::Session> sessions;
  std::string token;
  do {
    absl::StatusOr<v1::ListSessionsResponse> page = ListSessions(0, token);
    if (!page.ok()) return page.status();
    for (v1::Session& session : *page->mutable_sessions()) sessions.push_back(std::move(session));
    token = page->next_page_token();
  } while (!token.empty());
  return sessions;
}

absl::Status MineClient::DeleteSession(const std::string& session_id) {
  v1::DeleteSessionRequest request;
  request.set_session_id(session_id);
  v1::DeleteSessionResponse response;
  return CallWithRetries("DeleteSession", session_id, [&](grpc::ClientContext* context) {
    return stub_->DeleteSession(context, request, &response);
  });
}

absl::StatusOr<v1::PushSamplesResponse> MineClient::PushSamples(const v1::SampleBatch& batch) {
  v1::PushSamplesResponse response;
  absl::Status status =
      CallWithRetries("PushSamples", batch.session_id(), [&](grpc::ClientContext* context) {
        return stub_->PushSamples(context, batch, &response);
      });
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<v1::Estimate> MineClient::GetEstimate(const std::string& session_id) {
  v1::GetEstimateRequest request;
  request.set_session_id(session_id);
  v1::Estimate response;
  absl::Status status =
      CallWithRetries("GetEstimate", session_id, [&](grpc::ClientContext* context) {
        return stub_->GetEstimate(context, request, &response);
      });
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<std::unique_ptr<SampleStreamWriter>> MineClient::OpenStream(
    const std::string& session_id, SampleStreamWriter::Options options) {
  if (options.batch_rows < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("OpenStream: batch_rows must be >= 1, got ", options.batch_rows));
  }
  auto open = [this, session_id]() -> absl::StatusOr<SampleStreamWriter::Call> {
    SampleStreamWriter::Call call;
    call.context = std::make_unique<grpc::ClientContext>();
    PrepareContext(call.context.get(), session_id, options_.bearer_token);
    call.stream = stub_->StreamSamples(call.context.get());
    if (call.stream == nullptr) return absl::InternalError("OpenStream: the stub returned no stream");
    return call;
  };
  SampleStreamWriter::Reconnector reconnector{};
  if (options.resume_for > absl::ZeroDuration()) {
    // Number the batches after the session's last accepted sequence.
    absl::StatusOr<v1::Session> session = GetSession(session_id);
    if (!session.ok()) return session.status();
    reconnector.first_sequence = session->last_sequence() + 1;
    reconnector.open = open;
    reconnector.last_sequence = [this, session_id]() -> absl::StatusOr<int64_t> {
      absl::StatusOr<v1::Session> s = GetSession(session_id);
      if (!s.ok()) return s.status();
      return s->last_sequence();
    };
  }
  absl::StatusOr<SampleStreamWriter::Call> call = open();
  if (!call.ok()) return call.status();
  return std::make_unique<SampleStreamWriter>(session_id, std::move(options),
                                              std::move(call->context), std::move(call->stream),
                                              std::move(reconnector));
}

absl::Status MineClient::Watch(const std::string& session_id, absl::Duration min_interval,
                               const std::function<bool(const v1::Estimate&)>& callback) {
  grpc::ClientContext context;
  PrepareContext(&context, session_id, options_.bearer_token);
  v1::WatchEstimatesRequest request;
  request.set_session_id(session_id);
  request.set_min_interval_ms(
      static_cast<int32_t>(std::clamp<int64_t>(absl::ToInt64Milliseconds(min_interval), 0,
                                               3600000)));
  std::unique_ptr<grpc::ClientReaderInterface<v1::Estimate>> reader =
      stub_->WatchEstimates(&context, request);
  if (reader == nullptr) return absl::InternalError("WatchEstimates: the stub returned no stream");
  v1::Estimate estimate;
  bool stopped_by_caller = false;
  while (reader->Read(&estimate)) {
    if (!callback(estimate)) {
      stopped_by_caller = true;
      context.TryCancel();
      break;
    }
  }
  if (stopped_by_caller) {
    while (reader->Read(&estimate)) {
    }
    reader->Finish();
    return absl::OkStatus();
  }
  grpc::Status status = reader->Finish();
  if (status.ok()) return absl::OkStatus();
  return client_internal::FromGrpcStatus(status, "WatchEstimates");
}

}  // namespace mine
