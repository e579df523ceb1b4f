#ifndef SERVER_CORE_RUNNING_MOMENTS_H_
#define SERVER_CORE_RUNNING_MOMENTS_H_

#include <cstdint>
#include <vector>

namespace mine {

namespace internal {
class ByteReader;
class ByteWriter;
}  // namespace internal

// Per-dimension mean and standard deviation of a stream, used to standardise
// the network's inputs (MI is invariant to it). Exact (Welford) for the first
// `horizon` rows, then exponentially weighted with rate 1/horizon so the
// scale follows a drifting stream. Not thread-safe.
class RunningMoments {
 public:
  RunningMoments(int dim, int64_t horizon);

  void Add(const float* row);

  // Checkpoint support: SaveTo appends this object's state; LoadFrom
  // replaces it and returns false on a malformed or mismatching input.
  void SaveTo(internal::ByteWriter* out) const;
  bool LoadFrom(internal::ByteReader* in);

  int64_t count() const { return count_; }
  // Standardises `row` into `out`: (row - mean) / stddev, with stddev floored
  // so a constant column maps to 0 rather than dividing by zero.
  void Standardize(const float* row, float* out) const;

  double mean(int i) const { return mean_[i]; }
  double stddev(int i) const;

 private:
  int dim_;
  int64_t horizon_;
  int64_t count_ = 0;
  std::vector<double> mean_;
  std::vector<double> m2_;  // sum of squared deviations while exact; variance after
};

}  // namespace mine

#endif  // SERVER_CORE_RUNNING_MOMENTS_H_
