#include "server/core/plateau_detector.h"

#include <algorithm>
#include <vector>

#include "server/core/internal/byte_io.h"

namespace mine {

void PlateauDetector::Add(double value) {
  values_.push_back(value);
  if (static_cast<int>(values_.size()) > 2 * span_) values_.pop_front();
  ++evaluations_since_reopen_;
}

void PlateauDetector::Clear() {
  values_.clear();
  evaluations_since_reopen_ = 0;
}

double PlateauDetector::MeanOf(int from_end, int count) const {
  double sum = 0;
  const int n = static_cast<int>(values_.size());
  for (int i = n - from_end - count; i < n - from_end; ++i) sum += values_[i];
  return sum / count;
}

double PlateauDetector::Smoothed() const {
  const int count = std::min<int>(span_, static_cast<int>(values_.size()));
  return count == 0 ? 0.0 : MeanOf(0, count);
}

bool PlateauDetector::Plateaued(double std_error) const {
  if (evaluations_since_reopen_ < 2 * span_ ||
      static_cast<int>(values_.size()) < 2 * span_) {
    return false;
  }
  const double gain = MeanOf(0, span_) - MeanOf(span_, span_);
  return gain <= std::max(kStdErrorFraction * std_error, kMinGainNats);
}

void PlateauDetector::SaveTo(internal::ByteWriter* out) const {
  out->I64(evaluations_since_reopen_);
  out->Doubles(std::vector<double>(values_.begin(), values_.end()));
}

bool PlateauDetector::LoadFrom(internal::ByteReader* in) {
  int evaluations;
  std::vector<double> values;
  if (!in->Int(&evaluations) || !in->Doubles(&values) ||
      static_cast<int>(values.size()) > 2 * span_) {
    return false;
  }
  evaluations_since_reopen_ = evaluations;
  values_.assign(values.begin(), values.end());
  return true;
}

}  // namespace mine
