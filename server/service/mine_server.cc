#include "server/service/mine_server.h"

#include <cstdio>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"

namespace mine {
namespace {

constexpr char kServiceName[] = "mine.v1.MineService";

std::string JoinHostPort(const std::string& host, int port) {
  // An IPv6 literal needs brackets.
  if (absl::StrContains(host, ':') && !absl::StartsWith(host, "[")) {
    return absl::StrCat("[", host, "]:", port);
  }
  return absl::StrCat(host, ":", port);
}

}  // namespace

MineServer::MineServer(const MineServerOptions& options)
    : options_(options),
      manager_(std::make_unique<SessionManager>(options.manager)),
      reaper_(std::make_unique<SessionReaper>(manager_.get(), options.idle_ttl)),
      context_(std::make_unique<ServiceContext>(manager_.get(), reaper_.get())),
      service_(std::make_unique<MineServiceImpl>(context_.get())) {}

absl::StatusOr<std::unique_ptr<MineServer>> MineServer::Start(const MineServerOptions& options) {
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("port = ", options.port, " is out of range: 0..65535"));
  }
  if (options.max_receive_message_bytes < 1) {
    return absl::InvalidArgumentError("the maximum message size must be positive");
  }
  std::unique_ptr<MineServer> server(new MineServer(options));
  if (absl::Status s = server->manager_->RestoreState(); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("state dir ",
                                               options.manager.persistence.state_dir, ": ",
                                               s.message()));
  }

  // Both are process-wide settings that apply to servers built afterwards.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  builder.AddListeningPort(JoinHostPort(options.host, options.port),
                           grpc::InsecureServerCredentials(), &server->port_);
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  builder.RegisterService(server->service_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", JoinHostPort(options.host, options.port),
        " (address in use or not available?)"));
  }
  grpc::HealthCheckServiceInterface* health = server->server_->GetHealthCheckService();
  if (health != nullptr) {
    health->SetServingStatus("", true);
    health->SetServingStatus(kServiceName, true);
  }
  server->reaper_->Start();
  return server;
}

std::string MineServer::address() const { return JoinHostPort(options_.host, port_); }

void MineServer::Shutdown(absl::Duration grace) {
  absl::MutexLock lock(&shutdown_mu_);
  if (shut_down_) return;
  shut_down_ = true;
  if (server_ != nullptr) {
    if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService()) {
      health->SetServingStatus("", false);
      health->SetServingStatus(kServiceName, false);
    }
    context_->StartDraining();
    server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
    server_->Wait();
  }
  reaper_->Stop();
  manager_->StopCheckpointing();
  if (absl::Status s = manager_->CheckpointAll(); !s.ok()) {
    std::fprintf(stderr, "mine-server: final checkpoint incomplete: %s\n", s.ToString().c_str());
  }
}

MineServer::~MineServer() {
  Shutdown(absl::ZeroDuration());
  // Members go in reverse order: server, service, context (its scheduler),
  // reaper, and last the manager, which closes the sessions.
}

}  // namespace mine
