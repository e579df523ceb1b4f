#ifndef SERVER_SERVICE_CORE_EVENT_REPORTER_H_
#define SERVER_SERVICE_CORE_EVENT_REPORTER_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/core/alert_event.h"
#include "server/core/training_observer.h"
#include "server/service/event_log.h"
#include "server/service/service_metrics.h"

namespace mine {

// The observer mine-server gives the core: forwards every report to
// ServiceMetrics and writes the ones an operator reads as events to the
// EventLog (each alert as an `alert` line; failed checkpoints). Thread-safe;
// `metrics` is borrowed and outlives it.
class CoreEventReporter : public TrainingObserver {
 public:
  explicit CoreEventReporter(ServiceMetrics* metrics) : metrics_(metrics) {}
  CoreEventReporter(const CoreEventReporter&) = delete;
  CoreEventReporter& operator=(const CoreEventReporter&) = delete;

  void OnTrainingSlice(int steps, absl::Duration elapsed) override {
    metrics_->OnTrainingSlice(steps, elapsed);
  }
  void OnAlert(absl::string_view session_id, const AlertEvent& alert) override;
  void OnCheckpoint(absl::string_view session_id, bool ok, absl::Duration elapsed) override;
  void OnSessionsEvicted(int sessions) override { metrics_->OnSessionsEvicted(sessions); }

  // The event-log fields of one alert.
  static EventLog::Fields AlertFields(absl::string_view session_id, const AlertEvent& alert);

 private:
  ServiceMetrics* const metrics_;
};

}  // namespace mine

#endif  // SERVER_SERVICE_CORE_EVENT_REPORTER_H_
