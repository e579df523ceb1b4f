#include "server/core/batch_validation.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace mine {
namespace {

absl::Status CheckFinite(absl::string_view field, int dim,
                         absl::Span<const float> values) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, " row ", i / dim, " column ", i % dim, " is ",
          std::isnan(values[i]) ? "NaN" : "infinite",
          "; every value must be finite"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int64_t> ValidateBatch(int x_dim, int z_dim,
                                      absl::Span<const float> x,
                                      absl::Span<const float> z,
                                      int64_t max_rows) {
  if (x.empty() && z.empty()) {
    return absl::InvalidArgumentError("batch has no rows: x and z are empty");
  }
  if (x.size() % x_dim != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("x has ", x.size(), " values, not a whole number of rows of x_dim=",
                     x_dim, " (row ", x.size() / x_dim, " is incomplete)"));
  }
  if (z.size() % z_dim != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("z has ", z.size(), " values, not a whole number of rows of z_dim=",
                     z_dim, " (row ", z.size() / z_dim, " is incomplete)"));
  }
  const int64_t x_rows = static_cast<int64_t>(x.size()) / x_dim;
  const int64_t z_rows = static_cast<int64_t>(z.size()) / z_dim;
  if (x_rows != z_rows) {
    return absl::InvalidArgumentError(absl::StrCat(
        "x and z disagree: x has ", x_rows, " rows (x_dim=", x_dim, ") but z has ",
        z_rows, " rows (z_dim=", z_dim, "); row ", std::min(x_rows, z_rows),
        " has no partner"));
  }
  if (x_rows > max_rows) {
    return absl::InvalidArgumentError(absl::StrCat(
        "batch has ", x_rows, " rows, more than the limit of ", max_rows,
        "; split it into smaller batches"));
  }
  if (absl::Status s = CheckFinite("x", x_dim, x); !s.ok()) return s;
  if (absl::Status s = CheckFinite("z", z_dim, z); !s.ok()) return s;
  return x_rows;
}

}  // namespace mine
