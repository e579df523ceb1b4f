#include "server/service/core_event_reporter.h"

#include "absl/strings/str_cat.h"

namespace mine {

EventLog::Fields CoreEventReporter::AlertFields(absl::string_view session_id,
                                                const AlertEvent& alert) {
  return {{"session", std::string(session_id)},
          {"rule", AlertRuleName(alert.kind)},
          {"kind", AlertKindName(alert.kind)},
          {"mi_nats", absl::StrCat(alert.mi_nats)},
          {"reference_nats", absl::StrCat(alert.reference_nats)},
          {"samples_seen", absl::StrCat(alert.samples_seen)},
          {"estimate_version", absl::StrCat(alert.estimate_version)},
          {"message", alert.message}};
}

void CoreEventReporter::OnAlert(absl::string_view session_id, const AlertEvent& alert) {
  metrics_->OnAlert(session_id, alert);
  EventLog::Write("alert", AlertFields(session_id, alert));
}

void CoreEventReporter::OnCheckpoint(absl::string_view session_id, bool ok,
                                     absl::Duration elapsed) {
  metrics_->OnCheckpoint(session_id, ok, elapsed);
  // The reason is on stderr already ("state: ..."); this line is for log
  // pipelines that read only events.
  if (!ok) EventLog::Write("checkpoint_failed", {{"session", std::string(session_id)}});
}

}  // namespace mine
