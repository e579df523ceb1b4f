#ifndef SERVER_CORE_SAMPLE_WINDOW_H_
#define SERVER_CORE_SAMPLE_WINDOW_H_

#include <cstdint>
#include <functional>
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

  // Mapped copies kept beside the rows: a map that changes rarely (the
  // quantile normaliser, refitted now and then) is applied once per row on
  // arrival and to all rows on Remap(), not at every training step. The map
  // is borrowed and must outlive the window; Clear and LoadFrom drop it.
  using RowMap = std::function<void(const float* x, const float* z, float* x_out, float* z_out)>;
  void SetMap(RowMap map);  // maps every row now, and each appended row
  void Remap();             // the map changed: maps every row again
  bool mapped() const { return map_ != nullptr; }
  // REQUIRES: mapped() and 0 <= i < size().
  const float* mapped_x_row(int64_t i) const { return &mapped_x_[Slot(i) * x_dim_]; }
  const float* mapped_z_row(int64_t i) const { return &mapped_z_[Slot(i) * z_dim_]; }

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
  RowMap map_;
  std::vector<float> mapped_x_;  // same slots as x_ while map_ is set
  std::vector<float> mapped_z_;
};

}  // namespace mine

#endif  // SERVER_CORE_SAMPLE_WINDOW_H_
