#include "server/core/sample_window.h"

#include <algorithm>

#include "server/core/internal/byte_io.h"

namespace mine {

SampleWindow::SampleWindow(int x_dim, int z_dim, int64_t capacity)
    : x_dim_(x_dim), z_dim_(z_dim), capacity_(capacity) {}

void SampleWindow::Append(const float* x_row, const float* z_row) {
  int64_t slot = oldest_;
  if (size_ < capacity_) {
    slot = size_;
    x_.insert(x_.end(), x_row, x_row + x_dim_);
    z_.insert(z_.end(), z_row, z_row + z_dim_);
    if (map_ != nullptr) {
      mapped_x_.resize(x_.size());
      mapped_z_.resize(z_.size());
    }
    ++size_;
  } else {
    std::copy(x_row, x_row + x_dim_, &x_[oldest_ * x_dim_]);
    std::copy(z_row, z_row + z_dim_, &z_[oldest_ * z_dim_]);
    oldest_ = (oldest_ + 1) % capacity_;
  }
  if (map_ != nullptr) {
    map_(x_row, z_row, &mapped_x_[slot * x_dim_], &mapped_z_[slot * z_dim_]);
  }
}

void SampleWindow::SetMap(RowMap map) {
  map_ = std::move(map);
  Remap();
}

void SampleWindow::Remap() {
  mapped_x_.resize(x_.size());
  mapped_z_.resize(z_.size());
  for (int64_t slot = 0; slot < size_; ++slot) {
    map_(&x_[slot * x_dim_], &z_[slot * z_dim_], &mapped_x_[slot * x_dim_],
         &mapped_z_[slot * z_dim_]);
  }
}

void SampleWindow::Clear() {
  for (std::vector<float>* v : {&x_, &z_, &mapped_x_, &mapped_z_}) {
    v->clear();
    v->shrink_to_fit();
  }
  map_ = nullptr;
  size_ = 0;
  oldest_ = 0;
}

void SampleWindow::SaveTo(internal::ByteWriter* out) const {
  out->I64(capacity_);
  out->I64(size_);
  for (int64_t i = 0; i < size_; ++i) {  // oldest first
    out->Floats(x_row(i), x_dim_);
    out->Floats(z_row(i), z_dim_);
  }
}

bool SampleWindow::LoadFrom(internal::ByteReader* in) {
  int64_t capacity, size;
  if (!in->I64(&capacity) || !in->I64(&size) || capacity != capacity_ || size < 0 ||
      size > capacity_) {
    return false;
  }
  Clear();
  std::vector<float> x, z;
  for (int64_t i = 0; i < size; ++i) {
    if (!in->Floats(&x) || !in->Floats(&z) || static_cast<int>(x.size()) != x_dim_ ||
        static_cast<int>(z.size()) != z_dim_) {
      return false;
    }
    Append(x.data(), z.data());
  }
  return true;
}

}  // namespace mine
