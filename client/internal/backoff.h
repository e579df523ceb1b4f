#ifndef CLIENT_INTERNAL_BACKOFF_H_
#define CLIENT_INTERNAL_BACKOFF_H_

#include <cstdint>
#include <random>

#include "absl/time/time.h"

namespace mine::client_internal {

// Exponential backoff with multiplicative jitter: the n-th delay (n >= 1) is
// min(max, initial * multiplier^(n-1)) scaled by a uniform factor in
// [1 - jitter, 1 + jitter]. Not thread-safe; one per retry loop.
class Backoff {
 public:
  Backoff(absl::Duration initial, absl::Duration max, double multiplier, double jitter,
          uint64_t seed);

  absl::Duration NextDelay();

 private:
  absl::Duration next_;
  const absl::Duration max_;
  const double multiplier_;
  const double jitter_;
  std::mt19937_64 rng_;
};

}  // namespace mine::client_internal

#endif  // CLIENT_INTERNAL_BACKOFF_H_
