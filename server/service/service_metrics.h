#ifndef SERVER_SERVICE_SERVICE_METRICS_H_
#define SERVER_SERVICE_SERVICE_METRICS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/server_interceptor.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "server/core/session_manager.h"
#include "server/core/training_observer.h"
#include "server/service/internal/metrics_http_server.h"

namespace mine {

struct MetricsOptions {
  // Serve /metrics on host:port (port 0: any free one); port -1: metrics are
  // kept but not served.
  std::string host = "0.0.0.0";
  int port = -1;
  // Export mine_session_mi_nats{session="..."} for at most this many
  // sessions (in id order); 0: no per-session series.
  int max_session_gauges = 0;
};

// mine-server's Prometheus metrics (prometheus-cpp), in base units:
//   mine_sessions_active, mine_ingest_queue_rows          gauges, read at scrape time
//   mine_rows_ingested_total                              rows accepted
//   mine_batches_rejected_total{reason}                   reason: the status code, lower case
//   mine_training_steps_total, mine_training_step_duration_seconds (histogram;
//     one observation per slice: its mean step time)
//   mine_rpcs_total{method,code}, mine_rpc_duration_seconds{method} (histogram)
//   mine_alerts_total{rule,kind}                          rule: threshold|change;
//                                                         kind: firing|resolved|change
//   mine_checkpoint_duration_seconds (histogram), mine_checkpoint_failures_total
//   mine_session_evictions_total, mine_sessions_evicted   counter; gauge read at scrape time
//   mine_session_mi_nats{session}                         opt-in, capped
// Implements the core's TrainingObserver. Thread-safe. `manager` is borrowed
// and must outlive it (or Detach() is called first).
class ServiceMetrics : public TrainingObserver {
 public:
  static absl::StatusOr<std::unique_ptr<ServiceMetrics>> Create(const MetricsOptions& options);
  ~ServiceMetrics() override;
  ServiceMetrics(const ServiceMetrics&) = delete;
  ServiceMetrics& operator=(const ServiceMetrics&) = delete;

  // The sessions behind the scrape-time gauges; null to stop reading them.
  void Attach(SessionManager* manager);
  // The port /metrics is served on, 0 when not served.
  int port() const { return http_ == nullptr ? 0 : http_->port(); }
  // The text exposition of every metric, as served.
  std::string Text() const;

  void OnTrainingSlice(int steps, absl::Duration elapsed) override;
  void OnRowsIngested(int64_t rows);
  void OnBatchRejected(const absl::Status& status);
  void OnRpcDone(const std::string& method, grpc::StatusCode code, absl::Duration elapsed);
  void OnAlert(absl::string_view session_id, const AlertEvent& alert) override;
  void OnCheckpoint(absl::string_view session_id, bool ok, absl::Duration elapsed) override;
  void OnSessionsEvicted(int sessions) override;

  // Records every RPC of a server built with it (interceptors only observe).
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> InterceptorFactory();

 private:
  class Sessions;

  explicit ServiceMetrics(const MetricsOptions& options);

  const MetricsOptions options_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<Sessions> sessions_;
  prometheus::Counter* rows_ingested_;
  prometheus::Family<prometheus::Counter>* batches_rejected_;
  prometheus::Counter* training_steps_;
  prometheus::Histogram* step_duration_;
  prometheus::Family<prometheus::Counter>* rpcs_;
  prometheus::Family<prometheus::Histogram>* rpc_duration_;
  prometheus::Family<prometheus::Counter>* alerts_;
  prometheus::Histogram* checkpoint_duration_;
  prometheus::Counter* checkpoint_failures_;
  prometheus::Counter* evictions_;
  std::unique_ptr<internal::MetricsHttpServer> http_;
};

}  // namespace mine

#endif  // SERVER_SERVICE_SERVICE_METRICS_H_
