#ifndef SERVER_CORE_BATCH_VALIDATION_H_
#define SERVER_CORE_BATCH_VALIDATION_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace mine {

// Checks a row-major batch of (x, z) pairs against the session's dimensions
// and returns its number of rows, or InvalidArgument naming the field and the
// first offending row: sizes that are not whole rows, x and z row counts that
// disagree, no rows, more than `max_rows`, or a NaN/Inf value.
absl::StatusOr<int64_t> ValidateBatch(int x_dim, int z_dim,
                                      absl::Span<const float> x,
                                      absl::Span<const float> z,
                                      int64_t max_rows);

}  // namespace mine

#endif  // SERVER_CORE_BATCH_VALIDATION_H_
