#ifndef SERVER_CORE_TRAINING_OBSERVER_H_
#define SERVER_CORE_TRAINING_OBSERVER_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/core/alert_event.h"

namespace mine {

// What the core tells the outside about training, alerts and persistence,
// so that the service layer can export metrics and log events without the
// core depending on a metrics library. Implementations must be thread-safe
// and fast: they are called on worker and checkpoint threads, between
// training steps, with only the calling session's training lock held.
class TrainingObserver {
 public:
  virtual ~TrainingObserver() = default;
  // `steps` training steps ran in one slice of one session and took `elapsed`.
  virtual void OnTrainingSlice(int steps, absl::Duration elapsed) = 0;
  // Session `session_id` raised `alert` (in publication order per session).
  virtual void OnAlert(absl::string_view session_id, const AlertEvent& alert) {}
  // A checkpoint of session `session_id` was written (ok) or failed, and
  // took `elapsed`.
  virtual void OnCheckpoint(absl::string_view session_id, bool ok, absl::Duration elapsed) {}
  // `sessions` idle sessions were checkpointed and left memory.
  virtual void OnSessionsEvicted(int sessions) {}
};

}  // namespace mine

#endif  // SERVER_CORE_TRAINING_OBSERVER_H_
