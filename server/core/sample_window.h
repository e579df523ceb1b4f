#ifndef SERVER_CORE_SAMPLE_WINDOW_H_
#define SERVER_CORE_SAMPLE_WINDOW_H_

#include <cstdint>
#include <vector>

namespace mine {

namespace internal {
class ByteReader;
class ByteWriter;
}  // namespace internal

// A ring buffer of the most recent (x, z) rows; once full, each new row
// evicts the oldest, which is how estimates follow a changing dependence.
// Memory grows with the rows held, up to `capacity`. Not thread-safe.
class SampleWindow {
 public:
  SampleWindow(int x_dim, int z_dim, int64_t capacity);

  void Append(const float* x_row, const float* z_row);
  void Clear();

  // Checkpoint support: SaveTo appends this object's state; LoadFrom
  // replaces it and returns false on a malformed or mismatching input.
  void SaveTo(internal::ByteWriter* out) const;
  bool LoadFrom(internal::ByteReader* in);

  int64_t size() const { return size_; }
  int64_t capacity() const { return capacity_; }
  int x_dim() const { return x_dim_; }
  int z_dim() const { return z_dim_; }

  // Rows are indexed from 0 (oldest) to size() - 1 (newest).
  // REQUIRES: 0 <= i < size().
  const float* x_row(int64_t i) const { return &x_[Slot(i) * x_dim_]; }
  const float* z_row(int64_t i) const { return &z_[Slot(i) * z_dim_]; }

 private:
  int64_t Slot(int64_t i) const {
    const int64_t slot = oldest_ + i;
    return slot < capacity_ ? slot : slot - capacity_;
  }

  int x_dim_;
  int z_dim_;
  int64_t capacity_;
  int64_t size_ = 0;
  int64_t oldest_ = 0;
  std::vector<float> x_;
  std::vector<float> z_;
};

}  // namespace mine

#endif  // SERVER_CORE_SAMPLE_WINDOW_H_
