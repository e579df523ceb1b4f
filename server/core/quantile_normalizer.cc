#include "server/core/quantile_normalizer.h"

#include <algorithm>
#include <cmath>

#include "server/core/internal/byte_io.h"

namespace mine {
namespace {

double StandardNormalCdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

// Inverse of the standard normal CDF by bisection: only used to build a
// table of a few thousand entries, where robustness beats speed.
double StandardNormalQuantile(double p) {
  double lo = -40, hi = 40;
  for (int i = 0; i < 200 && hi - lo > 1e-12; ++i) {
    const double mid = 0.5 * (lo + hi);
    (StandardNormalCdf(mid) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

}  // namespace

QuantileNormalizer::QuantileNormalizer(int dim, int references)
    : dim_(dim), references_(references), sorted_(dim), tail_scale_(dim, 1.0) {}

void QuantileNormalizer::Fit(const std::vector<const float*>& rows) {
  const int n = static_cast<int>(rows.size());
  if (static_cast<int>(gaussian_.size()) != n) {
    gaussian_.resize(n);
    for (int j = 0; j < n; ++j) gaussian_[j] = StandardNormalQuantile((j + 0.5) / n);
  }
  for (int d = 0; d < dim_; ++d) {
    std::vector<float>& sorted = sorted_[d];
    sorted.resize(n);
    for (int j = 0; j < n; ++j) sorted[j] = rows[j][d];
    std::sort(sorted.begin(), sorted.end());
    // Interquartile range / 1.349: the stddev of a Gaussian, robust to tails.
    const double iqr = sorted[(3 * (n - 1)) / 4] - sorted[(n - 1) / 4];
    const double range = sorted.back() - sorted.front();
    tail_scale_[d] = std::max({iqr / 1.349, range / n, 1e-6});
  }
  fitted_ = true;
}

float QuantileNormalizer::NormalizeValue(int d, float v) const {
  const std::vector<float>& s = sorted_[d];
  const int n = static_cast<int>(s.size());
  if (v < s.front()) {
    return static_cast<float>(gaussian_.front() - std::asinh((s.front() - v) / tail_scale_[d]));
  }
  if (v > s.back()) {
    return static_cast<float>(gaussian_.back() + std::asinh((v - s.back()) / tail_scale_[d]));
  }
  const auto lower = std::lower_bound(s.begin(), s.end(), v);
  double position;
  if (*lower == v) {
    // Ties take the middle of their run, so a discrete column is centred.
    const auto upper = std::upper_bound(lower, s.end(), v);
    position = 0.5 * ((lower - s.begin()) + (upper - s.begin()) - 1);
  } else {
    const int i = static_cast<int>(lower - s.begin()) - 1;  // s[i] < v < s[i + 1]
    position = i + (v - s[i]) / static_cast<double>(s[i + 1] - s[i]);
  }
  const int j = std::min(static_cast<int>(position), n - 1);
  const double frac = position - j;
  const double g = j + 1 < n ? gaussian_[j] + frac * (gaussian_[j + 1] - gaussian_[j])
                             : gaussian_[j];
  return static_cast<float>(g);
}

void QuantileNormalizer::Normalize(const float* row, float* out) const {
  for (int d = 0; d < dim_; ++d) out[d] = NormalizeValue(d, row[d]);
}

void QuantileNormalizer::SaveTo(internal::ByteWriter* out) const {
  out->Bool(fitted_);
  for (const std::vector<float>& column : sorted_) {
    out->Floats(column.data(), static_cast<int64_t>(column.size()));
  }
  out->Doubles(tail_scale_);
  out->Doubles(gaussian_);
}

bool QuantileNormalizer::LoadFrom(internal::ByteReader* in) {
  bool fitted;
  std::vector<std::vector<float>> sorted(dim_);
  std::vector<double> tail_scale, gaussian;
  if (!in->Bool(&fitted)) return false;
  for (std::vector<float>& column : sorted) {
    if (!in->Floats(&column)) return false;
  }
  if (!in->Doubles(&tail_scale) || !in->Doubles(&gaussian) ||
      static_cast<int>(tail_scale.size()) != dim_) {
    return false;
  }
  for (const std::vector<float>& column : sorted) {
    if (fitted && column.size() != gaussian.size()) return false;
  }
  fitted_ = fitted;
  sorted_ = std::move(sorted);
  tail_scale_ = std::move(tail_scale);
  gaussian_ = std::move(gaussian);
  return true;
}

}  // namespace mine
