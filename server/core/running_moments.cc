#include "server/core/running_moments.h"

#include <algorithm>
#include <cmath>

#include "server/core/internal/byte_io.h"

namespace mine {
namespace {
constexpr double kMinStddev = 1e-6;
}  // namespace

RunningMoments::RunningMoments(int dim, int64_t horizon)
    : dim_(dim), horizon_(std::max<int64_t>(horizon, 2)), mean_(dim, 0.0), m2_(dim, 0.0) {}

void RunningMoments::Add(const float* row) {
  ++count_;
  if (count_ <= horizon_) {
    for (int i = 0; i < dim_; ++i) {
      const double delta = row[i] - mean_[i];
      mean_[i] += delta / count_;
      m2_[i] += delta * (row[i] - mean_[i]);
    }
    if (count_ == horizon_) {
      for (int i = 0; i < dim_; ++i) m2_[i] /= count_;  // switch to variance
    }
    return;
  }
  const double rate = 1.0 / horizon_;
  for (int i = 0; i < dim_; ++i) {
    const double delta = row[i] - mean_[i];
    mean_[i] += rate * delta;
    m2_[i] = (1.0 - rate) * (m2_[i] + rate * delta * delta);
  }
}

double RunningMoments::stddev(int i) const {
  double variance = 0;
  if (count_ >= horizon_) {
    variance = m2_[i];
  } else if (count_ > 1) {
    variance = m2_[i] / count_;
  }
  return std::max(std::sqrt(variance), kMinStddev);
}

void RunningMoments::Standardize(const float* row, float* out) const {
  for (int i = 0; i < dim_; ++i) {
    out[i] = static_cast<float>((row[i] - mean_[i]) / stddev(i));
  }
}

void RunningMoments::SaveTo(internal::ByteWriter* out) const {
  out->I64(count_);
  out->Doubles(mean_);
  out->Doubles(m2_);
}

bool RunningMoments::LoadFrom(internal::ByteReader* in) {
  int64_t count;
  std::vector<double> mean, m2;
  if (!in->I64(&count) || !in->Doubles(&mean) || !in->Doubles(&m2) || count < 0 ||
      static_cast<int>(mean.size()) != dim_ || static_cast<int>(m2.size()) != dim_) {
    return false;
  }
  count_ = count;
  mean_ = std::move(mean);
  m2_ = std::move(m2);
  return true;
}

}  // namespace mine
