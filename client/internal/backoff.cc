#include "client/internal/backoff.h"

#include <algorithm>

namespace mine::client_internal {

Backoff::Backoff(absl::Duration initial, absl::Duration max, double multiplier, double jitter,
                 uint64_t seed)
    : next_(initial),
      max_(max),
      multiplier_(std::max(1.0, multiplier)),
      jitter_(std::clamp(jitter, 0.0, 1.0)),
      rng_(seed) {}

absl::Duration Backoff::NextDelay() {
  const absl::Duration base = std::min(next_, max_);
  next_ = std::min(next_ * multiplier_, max_);
  std::uniform_real_distribution<double> factor(1.0 - jitter_, 1.0 + jitter_);
  return base * factor(rng_);
}

}  // namespace mine::client_internal
