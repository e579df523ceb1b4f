#include "server/service/mine_service_impl.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "server/service/event_log.h"
#include "server/service/grpc_status.h"
#include "server/service/proto_convert.h"
#include "server/service/stream_samples_reactor.h"
#include "server/service/watch_estimates_reactor.h"

namespace mine {
namespace {

const grpc::Status& Draining() {
  static const grpc::Status* status =
      new grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down");
  return *status;
}

// Why a call is refused before it starts, if it is: every call while the
// server restores its sessions; calls that start new work while it drains.
std::optional<grpc::Status> Refusal(const ServiceContext& context, bool new_work) {
  if (context.restoring()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "the server is restoring state, retry shortly");
  }
  if (new_work && context.draining()) return Draining();
  return std::nullopt;
}

grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* call, const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = call->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* call, const absl::Status& status) {
  return Reply(call, ToGrpcStatus(status));
}

// The caller's tenant; a refusal is logged (peer and method, never the token).
absl::StatusOr<std::string> Authenticate(ServiceContext* context,
                                         grpc::CallbackServerContext* call,
                                         absl::string_view method) {
  absl::StatusOr<std::string> tenant = context->Authenticate(*call);
  if (!tenant.ok()) {
    EventLog::Write("auth_refused", {{"method", std::string(method)},
                                     {"peer", call->peer()},
                                     {"reason", std::string(tenant.status().message())}});
  }
  return tenant;
}

// A stream refused before it starts.
template <typename Reactor>
class RefusedReactor : public Reactor {
 public:
  explicit RefusedReactor(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerUnaryReactor* MineServiceImpl::CreateSession(grpc::CallbackServerContext* call,
                                                         const v1::CreateSessionRequest* request,
                                                         v1::Session* response) {
  if (auto refused = Refusal(*context_, /*new_work=*/true)) return Reply(call, *refused);
  absl::StatusOr<std::string> tenant = Authenticate(context_, call, "CreateSession");
  if (!tenant.ok()) return Reply(call, tenant.status());
  absl::StatusOr<SessionConfig> config = FromProto(request->config());
  if (!config.ok()) return Reply(call, config.status());
  absl::StatusOr<std::shared_ptr<Session>> session =
      context_->tenants().Create(*tenant, request->session_id(), *config);
  if (!session.ok()) return Reply(call, session.status());
  context_->reaper().Touch((*session)->id());
  EventLog::Write("session_created", {{"session", (*session)->id()},
                                      {"tenant", *tenant},
                                      {"peer", call->peer()},
                                      {"config", DescribeConfig((*session)->config())}});
  ToProto(**session, response);
  return Reply(call, grpc::Status::OK);
}

grpc::ServerUnaryReactor* MineServiceImpl::GetSession(grpc::CallbackServerContext* call,
                                                      const v1::GetSessionRequest* request,
                                                      v1::Session* response) {
  if (auto refused = Refusal(*context_, /*new_work=*/false)) return Reply(call, *refused);
  absl::StatusOr<std::string> tenant = Authenticate(context_, call, "GetSession");
  if (!tenant.ok()) return Reply(call, tenant.status());
  absl::StatusOr<std::shared_ptr<Session>> session =
      context_->tenants().Find(*tenant, request->session_id());
  if (!session.ok()) return Reply(call, session.status());
  context_->reaper().Touch((*session)->id());
  ToProto(**session, response);
  return Reply(call, grpc::Status::OK);
}

grpc::ServerUnaryReactor* MineServiceImpl::ListSessions(grpc::CallbackServerContext* call,
                                                        const v1::ListSessionsRequest* request,
                                                        v1::ListSessionsResponse* response) {
  if (auto refused = Refusal(*context_, /*new_work=*/false)) return Reply(call, *refused);
  absl::StatusOr<std::string> tenant = Authenticate(context_, call, "ListSessions");
  if (!tenant.ok()) return Reply(call, tenant.status());
  absl::StatusOr<SessionManager::Page> page =
      context_->tenants().List(*tenant, request->page_size(), request->page_token());
  if (!page.ok()) return Reply(call, page.status());
  for (const std::shared_ptr<Session>& session : page->sessions) {
    ToProto(*session, response->add_sessions());
  }
  response->set_next_page_token(page->next_page_token);
  return Reply(call, grpc::Status::OK);
}

grpc::ServerUnaryReactor* MineServiceImpl::DeleteSession(grpc::CallbackServerContext* call,
                                                         const v1::DeleteSessionRequest* request,
                                                         v1::DeleteSessionResponse* response) {
  if (auto refused = Refusal(*context_, /*new_work=*/false)) return Reply(call, *refused);
  absl::StatusOr<std::string> tenant = Authenticate(context_, call, "DeleteSession");
  if (!tenant.ok()) return Reply(call, tenant.status());
  const absl::Status deleted = context_->tenants().Delete(*tenant, request->session_id());
  if (deleted.ok()) {
    EventLog::Write("session_deleted", {{"session", request->session_id()},
                                        {"tenant", *tenant},
                                        {"peer", call->peer()}});
  }
  return Reply(call, deleted);
}

grpc::ServerBidiReactor<v1::SampleBatch, v1::Estimate>* MineServiceImpl::StreamSamples(
    grpc::CallbackServerContext* call) {
  if (auto refused = Refusal(*context_, /*new_work=*/true)) {
    return new RefusedReactor<grpc::ServerBidiReactor<v1::SampleBatch, v1::Estimate>>(*refused);
  }
  absl::StatusOr<std::string> tenant = Authenticate(context_, call, "StreamSamples");
  if (!tenant.ok()) {
    return new RefusedReactor<grpc::ServerBidiReactor<v1::SampleBatch, v1::Estimate>>(
        ToGrpcStatus(tenant.status()));
  }
  return new StreamSamplesReactor(context_, *tenant);
}

grpc::ServerUnaryReactor* MineServiceImpl::PushSamples(grpc::CallbackServerContext* call,
                                                       const v1::SampleBatch* request,
                                                       v1::PushSamplesResponse* response) {
  if (auto refused = Refusal(*context_, /*new_work=*/true)) return Reply(call, *refused);
  absl::StatusOr<std::string> tenant = Authenticate(context_, call, "PushSamples");
  if (!tenant.ok()) return Reply(call, tenant.status());
  if (request->session_id().empty()) {
    return Reply(call, absl::InvalidArgumentError("session_id is empty"));
  }
  absl::StatusOr<std::shared_ptr<Session>> session =
      context_->tenants().Find(*tenant, request->session_id());
  if (!session.ok()) return Reply(call, session.status());
  context_->reaper().Touch((*session)->id());
  if (absl::Status quota = context_->tenants().AdmitRows(
          *tenant, request->x().size() / std::max(1, (*session)->config().x_dim));
      !quota.ok()) {
    context_->RecordIngest(quota, 0);
    return Reply(call, quota);
  }
  // RESOURCE_EXHAUSTED on a full queue goes back to the caller as is.
  absl::StatusOr<IngestResult> result = (*session)->Ingest(
      absl::MakeConstSpan(request->x().data(), request->x().size()),
      absl::MakeConstSpan(request->z().data(), request->z().size()), request->sequence());
  context_->RecordIngest(result.status(), result.ok() ? result->accepted_rows : 0);
  if (!result.ok()) return Reply(call, result.status());
  response->set_accepted_rows(result->accepted_rows);
  response->set_samples_seen(result->samples_seen);
  response->set_duplicate(result->duplicate);
  return Reply(call, grpc::Status::OK);
}

grpc::ServerUnaryReactor* MineServiceImpl::GetEstimate(grpc::CallbackServerContext* call,
                                                       const v1::GetEstimateRequest* request,
                                                       v1::Estimate* response) {
  if (auto refused = Refusal(*context_, /*new_work=*/false)) return Reply(call, *refused);
  absl::StatusOr<std::string> tenant = Authenticate(context_, call, "GetEstimate");
  if (!tenant.ok()) return Reply(call, tenant.status());
  absl::StatusOr<std::shared_ptr<Session>> session =
      context_->tenants().Find(*tenant, request->session_id());
  if (!session.ok()) return Reply(call, session.status());
  context_->reaper().Touch((*session)->id());
  ToProto((*session)->latest_estimate(), (*session)->id(), response);
  return Reply(call, grpc::Status::OK);
}

grpc::ServerWriteReactor<v1::Estimate>* MineServiceImpl::WatchEstimates(
    grpc::CallbackServerContext* call, const v1::WatchEstimatesRequest* request) {
  if (auto refused = Refusal(*context_, /*new_work=*/true)) {
    return new RefusedReactor<grpc::ServerWriteReactor<v1::Estimate>>(*refused);
  }
  absl::StatusOr<std::string> tenant = Authenticate(context_, call, "WatchEstimates");
  if (!tenant.ok()) {
    return new RefusedReactor<grpc::ServerWriteReactor<v1::Estimate>>(
        ToGrpcStatus(tenant.status()));
  }
  return new WatchEstimatesReactor(context_, *request, *tenant);
}

}  // namespace mine
