#include "server/service/mine_server.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

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

absl::StatusOr<std::string> ReadFile(const std::string& what, const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", what, " ", path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const TlsOptions& tls) {
  if (tls.cert_file.empty()) {
    if (!tls.key_file.empty() || !tls.client_ca_file.empty()) {
      return absl::InvalidArgumentError("a TLS key or client CA needs a TLS certificate too");
    }
    return grpc::InsecureServerCredentials();
  }
  if (tls.key_file.empty()) return absl::InvalidArgumentError("a TLS certificate needs its key");
  absl::StatusOr<std::string> cert = ReadFile("TLS certificate", tls.cert_file);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadFile("TLS key", tls.key_file);
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({*key, *cert});
  if (!tls.client_ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadFile("TLS client CA", tls.client_ca_file);
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *ca;
    ssl.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(ssl);
}

}  // namespace

SessionManagerOptions WithObserver(SessionManagerOptions options, TrainingObserver* observer) {
  options.session.observer = observer;
  return options;
}

MineServer::MineServer(const MineServerOptions& options, std::unique_ptr<TokenStore> tokens,
                       std::unique_ptr<ServiceMetrics> metrics)
    : options_(options),
      metrics_(std::move(metrics)),
      reporter_(std::make_unique<CoreEventReporter>(metrics_.get())),
      manager_(std::make_unique<SessionManager>(WithObserver(options.manager, reporter_.get()))),
      reaper_(std::make_unique<SessionReaper>(manager_.get(), options.idle_ttl)),
      tokens_(std::move(tokens)),
      tenants_(std::make_unique<TenantRegistry>(
          manager_.get(), options.tenant_quota, !tokens_->open(),
          options.manager.persistence.state_dir.empty() || tokens_->open()
              ? ""
              : options.manager.persistence.state_dir + "/owners")),
      context_(std::make_unique<ServiceContext>(manager_.get(), reaper_.get(), tokens_.get(),
                                                tenants_.get(), metrics_.get())),
      service_(std::make_unique<MineServiceImpl>(context_.get())) {}

absl::StatusOr<std::unique_ptr<MineServer>> MineServer::Start(const MineServerOptions& options) {
  absl::StatusOr<std::unique_ptr<MineServer>> server = Listen(options);
  if (!server.ok()) return server.status();
  if (absl::Status s = (*server)->RestoreAndServe(); !s.ok()) return s;
  return server;
}

absl::StatusOr<std::unique_ptr<MineServer>> MineServer::Listen(const MineServerOptions& options) {
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("port = ", options.port, " is out of range: 0..65535"));
  }
  if (options.max_receive_message_bytes < 1) {
    return absl::InvalidArgumentError("the maximum message size must be positive");
  }
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      Credentials(options.tls);
  if (!credentials.ok()) return credentials.status();
  absl::StatusOr<std::unique_ptr<TokenStore>> tokens = TokenStore::Load(options.auth_tokens_file);
  if (!tokens.ok()) return tokens.status();
  MetricsOptions metrics_options;
  metrics_options.host = options.host;
  metrics_options.port = options.metrics_port;
  metrics_options.max_session_gauges = options.metrics_session_gauges;
  absl::StatusOr<std::unique_ptr<ServiceMetrics>> metrics =
      ServiceMetrics::Create(metrics_options);
  if (!metrics.ok()) return metrics.status();
  std::unique_ptr<MineServer> server(
      new MineServer(options, *std::move(tokens), *std::move(metrics)));
  server->metrics_->Attach(server->manager_.get());
  server->context_->set_restoring(true);

  // Both are process-wide settings that apply to servers built afterwards.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  builder.AddListeningPort(JoinHostPort(options.host, options.port),
                           *credentials, &server->port_);
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  builder.RegisterService(server->service_.get());
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(server->metrics_->InterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", JoinHostPort(options.host, options.port),
        " (address in use or not available?)"));
  }
  // gRPC's default health service starts with "" SERVING: correct it at once.
  {
    absl::MutexLock lock(&server->shutdown_mu_);
    server->SetServing(false);
  }
  return server;
}

absl::Status MineServer::RestoreAndServe() {
  if (absl::Status s = manager_->RestoreState(options_.restore_progress); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("state dir ",
                                               options_.manager.persistence.state_dir, ": ",
                                               s.message()));
  }
  absl::MutexLock lock(&shutdown_mu_);
  if (shut_down_) return absl::OkStatus();  // draining already: stays NOT_SERVING
  context_->set_restoring(false);
  SetServing(true);
  reaper_->Start();
  return absl::OkStatus();
}

void MineServer::SetServing(bool serving) {
  if (server_ == nullptr) return;
  if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService()) {
    health->SetServingStatus("", serving);
    health->SetServingStatus(kServiceName, serving);
  }
}

std::string MineServer::address() const { return JoinHostPort(options_.host, port_); }

void MineServer::Shutdown(absl::Duration grace) {
  absl::MutexLock lock(&shutdown_mu_);
  if (shut_down_) return;
  shut_down_ = true;
  if (server_ != nullptr) {
    SetServing(false);
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
  metrics_->Attach(nullptr);  // scrapes stop reading the sessions
  // Members go in reverse order: server, service, context (its scheduler),
  // reaper, and last the manager, which closes the sessions.
}

}  // namespace mine
