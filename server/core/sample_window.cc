#include "server/core/sample_window.h"

#include <algorithm>

namespace mine {

SampleWindow::SampleWindow(int x_dim, int z_dim, int64_t capacity)
    : x_dim_(x_dim), z_dim_(z_dim), capacity_(capacity) {}

void SampleWindow::Append(const float* x_row, const float* z_row) {
  if (size_ < capacity_) {
    x_.insert(x_.end(), x_row, x_row + x_dim_);
    z_.insert(z_.end(), z_row, z_row + z_dim_);
    ++size_;
    return;
  }
  std::copy(x_row, x_row + x_dim_, &x_[oldest_ * x_dim_]);
  std::copy(z_row, z_row + z_dim_, &z_[oldest_ * z_dim_]);
  oldest_ = (oldest_ + 1) % capacity_;
}

void SampleWindow::Clear() {
  x_.clear();
  z_.clear();
  x_.shrink_to_fit();
  z_.shrink_to_fit();
  size_ = 0;
  oldest_ = 0;
}

}  // namespace mine
