#ifndef SERVER_CORE_TRAINING_OBSERVER_H_
#define SERVER_CORE_TRAINING_OBSERVER_H_

#include <cstdint>

#include "absl/time/time.h"

namespace mine {

// What the core tells the outside about training, so that the service layer
// can export metrics without the core depending on a metrics library.
// Implementations must be thread-safe and fast: they are called on worker
// threads, between training steps, with no lock of the caller held.
class TrainingObserver {
 public:
  virtual ~TrainingObserver() = default;
  // `steps` training steps ran in one slice of one session and took `elapsed`.
  virtual void OnTrainingSlice(int steps, absl::Duration elapsed) = 0;
};

}  // namespace mine

#endif  // SERVER_CORE_TRAINING_OBSERVER_H_
