#include "server/service/service_metrics.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/collectable.h"
#include "prometheus/gauge.h"
#include "prometheus/metric_family.h"
#include "prometheus/text_serializer.h"

namespace mine {
namespace {

// Seconds, from 100 us to 10 s.
prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

// Seconds, from 1 ms to 2 min: a checkpoint writes a whole window.
prometheus::Histogram::BucketBoundaries CheckpointBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
}

// The `kind` label of mine_alerts_total (the rule is its own label).
const char* AlertKindLabel(AlertEvent::Kind kind) {
  switch (kind) {
    case AlertEvent::Kind::kThresholdFiring:
      return "firing";
    case AlertEvent::Kind::kThresholdResolved:
      return "resolved";
    case AlertEvent::Kind::kChange:
      break;
  }
  return "change";
}

std::string LowerCodeName(absl::StatusCode code) {
  std::string name = absl::StatusCodeToString(code);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

const char* GrpcCodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  const int i = static_cast<int>(code);
  return i >= 0 && i <= 16 ? kNames[i] : "UNKNOWN";
}

prometheus::MetricFamily Gauge(std::string name, std::string help) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = prometheus::MetricType::Gauge;
  return family;
}

// Times one RPC and reports it when its status is sent.
class RpcInterceptor : public grpc::experimental::Interceptor {
 public:
  RpcInterceptor(ServiceMetrics* metrics, std::string method)
      : metrics_(metrics), method_(std::move(method)), start_(absl::Now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      metrics_->OnRpcDone(method_, methods->GetSendStatus().error_code(), absl::Now() - start_);
    }
    methods->Proceed();
  }

 private:
  ServiceMetrics* const metrics_;
  const std::string method_;
  const absl::Time start_;
};

class RpcInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RpcInterceptorFactory(ServiceMetrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new RpcInterceptor(metrics_, info->method() == nullptr ? "" : info->method());
  }

 private:
  ServiceMetrics* const metrics_;
};

}  // namespace

// The gauges read from the sessions at scrape time.
class ServiceMetrics::Sessions : public prometheus::Collectable {
 public:
  explicit Sessions(int max_session_gauges) : max_session_gauges_(max_session_gauges) {}

  void Attach(SessionManager* manager) {
    absl::MutexLock lock(&mu_);
    manager_ = manager;
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    prometheus::MetricFamily active = Gauge("mine_sessions_active", "Sessions held now.");
    prometheus::MetricFamily queue = Gauge(
        "mine_ingest_queue_rows", "Rows accepted and not yet applied to a window, all sessions.");
    prometheus::MetricFamily mi =
        Gauge("mine_session_mi_nats", "Latest MI estimate of a session, in nats (opt-in, capped).");
    prometheus::MetricFamily evicted =
        Gauge("mine_sessions_evicted", "Sessions checkpointed out of memory (idle eviction).");
    absl::MutexLock lock(&mu_);
    if (manager_ == nullptr) return {};
    evicted.metric.emplace_back().gauge.value =
        static_cast<double>(manager_->EvictedSessions().size());
    double pending = 0;
    int sessions = 0;
    std::string token;
    do {
      absl::StatusOr<SessionManager::Page> page =
          // Held sessions only: a scrape must not load evicted sessions back,
          // nor read other replicas' checkpoints on a shared state dir.
          manager_->List(SessionManager::kMaxPageSize, token, /*loaded_only=*/true);
      if (!page.ok()) break;
      for (const std::shared_ptr<Session>& session : page->sessions) {
        const SessionStatus status = session->status();
        pending += static_cast<double>(status.pending_rows);
        if (sessions++ < max_session_gauges_ && status.latest.state != EstimateState::kWarmingUp) {
          prometheus::ClientMetric metric;
          metric.label.push_back({"session", session->id()});
          metric.gauge.value = status.latest.mi_nats;
          mi.metric.push_back(std::move(metric));
        }
      }
      token = page->next_page_token;
    } while (!token.empty());
    active.metric.emplace_back().gauge.value = sessions;
    queue.metric.emplace_back().gauge.value = pending;
    std::vector<prometheus::MetricFamily> families = {std::move(active), std::move(queue),
                                                      std::move(evicted)};
    if (max_session_gauges_ > 0) families.push_back(std::move(mi));
    return families;
  }

 private:
  const int max_session_gauges_;
  mutable absl::Mutex mu_;
  SessionManager* manager_ ABSL_GUARDED_BY(mu_) = nullptr;
};

ServiceMetrics::ServiceMetrics(const MetricsOptions& options)
    : options_(options),
      registry_(std::make_shared<prometheus::Registry>()),
      sessions_(std::make_shared<Sessions>(options.max_session_gauges)) {
  rows_ingested_ = &prometheus::BuildCounter()
                        .Name("mine_rows_ingested_total")
                        .Help("Rows accepted by sessions.")
                        .Register(*registry_)
                        .Add({});
  batches_rejected_ = &prometheus::BuildCounter()
                           .Name("mine_batches_rejected_total")
                           .Help("Sample batches refused, by reason (the status code).")
                           .Register(*registry_);
  training_steps_ = &prometheus::BuildCounter()
                         .Name("mine_training_steps_total")
                         .Help("Training steps run, all sessions.")
                         .Register(*registry_)
                         .Add({});
  step_duration_ = &prometheus::BuildHistogram()
                        .Name("mine_training_step_duration_seconds")
                        .Help("Mean duration of a training step, one observation per slice.")
                        .Register(*registry_)
                        .Add({}, LatencyBuckets());
  rpcs_ = &prometheus::BuildCounter()
               .Name("mine_rpcs_total")
               .Help("RPCs finished, by full method name and status code.")
               .Register(*registry_);
  rpc_duration_ = &prometheus::BuildHistogram()
                       .Name("mine_rpc_duration_seconds")
                       .Help("RPC duration from start to status, by full method name.")
                       .Register(*registry_);
  alerts_ = &prometheus::BuildCounter()
                 .Name("mine_alerts_total")
                 .Help("Dependence alerts raised, by rule (threshold, change) and kind "
                       "(firing, resolved, change).")
                 .Register(*registry_);
  checkpoint_duration_ = &prometheus::BuildHistogram()
                              .Name("mine_checkpoint_duration_seconds")
                              .Help("Time to snapshot one session and write its checkpoint.")
                              .Register(*registry_)
                              .Add({}, CheckpointBuckets());
  checkpoint_failures_ = &prometheus::BuildCounter()
                              .Name("mine_checkpoint_failures_total")
                              .Help("Session checkpoints that could not be written.")
                              .Register(*registry_)
                              .Add({});
  evictions_ = &prometheus::BuildCounter()
                    .Name("mine_session_evictions_total")
                    .Help("Idle sessions checkpointed out of memory.")
                    .Register(*registry_)
                    .Add({});
}

absl::StatusOr<std::unique_ptr<ServiceMetrics>> ServiceMetrics::Create(
    const MetricsOptions& options) {
  std::unique_ptr<ServiceMetrics> metrics(new ServiceMetrics(options));
  if (options.port >= 0) {
    ServiceMetrics* raw = metrics.get();
    absl::StatusOr<std::unique_ptr<internal::MetricsHttpServer>> http =
        internal::MetricsHttpServer::Start(options.host, options.port,
                                           [raw] { return raw->Text(); });
    if (!http.ok()) return http.status();
    metrics->http_ = *std::move(http);
  }
  return metrics;
}

ServiceMetrics::~ServiceMetrics() {
  http_.reset();  // no scrape runs after this
}

std::string ServiceMetrics::Text() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  for (prometheus::MetricFamily& family : sessions_->Collect()) {
    families.push_back(std::move(family));
  }
  return prometheus::TextSerializer().Serialize(families);
}

void ServiceMetrics::Attach(SessionManager* manager) { sessions_->Attach(manager); }

void ServiceMetrics::OnTrainingSlice(int steps, absl::Duration elapsed) {
  if (steps <= 0) return;
  training_steps_->Increment(steps);
  step_duration_->Observe(absl::ToDoubleSeconds(elapsed) / steps);
}

void ServiceMetrics::OnRowsIngested(int64_t rows) {
  rows_ingested_->Increment(static_cast<double>(rows));
}

void ServiceMetrics::OnBatchRejected(const absl::Status& status) {
  batches_rejected_->Add({{"reason", LowerCodeName(status.code())}}).Increment();
}

void ServiceMetrics::OnRpcDone(const std::string& method, grpc::StatusCode code,
                               absl::Duration elapsed) {
  rpcs_->Add({{"method", method}, {"code", GrpcCodeName(code)}}).Increment();
  rpc_duration_->Add({{"method", method}}, LatencyBuckets())
      .Observe(absl::ToDoubleSeconds(elapsed));
}

void ServiceMetrics::OnAlert(absl::string_view session_id, const AlertEvent& alert) {
  alerts_->Add({{"rule", AlertRuleName(alert.kind)}, {"kind", AlertKindLabel(alert.kind)}})
      .Increment();
}

void ServiceMetrics::OnCheckpoint(absl::string_view session_id, bool ok,
                                  absl::Duration elapsed) {
  checkpoint_duration_->Observe(absl::ToDoubleSeconds(elapsed));
  if (!ok) checkpoint_failures_->Increment();
}

void ServiceMetrics::OnSessionsEvicted(int sessions) { evictions_->Increment(sessions); }

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
ServiceMetrics::InterceptorFactory() {
  return std::make_unique<RpcInterceptorFactory>(this);
}

}  // namespace mine
