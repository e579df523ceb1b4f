#ifndef SERVER_CORE_QUANTILE_NORMALIZER_H_
#define SERVER_CORE_QUANTILE_NORMALIZER_H_

#include <vector>

namespace mine {

namespace internal {
class ByteReader;
class ByteWriter;
}  // namespace internal

// Maps each coordinate through its empirical CDF, estimated from a reference
// sample of the stream, and then through the standard normal quantile
// function. The map is strictly increasing per coordinate, so mutual
// information is unchanged, but heavy tails and monotone non-linear
// distortions reach the statistics network as standard Gaussians. Values
// beyond the reference range continue the map with an asinh tail, so it stays
// strictly increasing everywhere. Not thread-safe.
class QuantileNormalizer {
 public:
  static constexpr int kDefaultReferences = 1024;

  explicit QuantileNormalizer(int dim, int references = kDefaultReferences);

  // Replaces the reference quantiles with those of `rows` (each a pointer to
  // `dim` floats). REQUIRES: !rows.empty().
  void Fit(const std::vector<const float*>& rows);
  bool fitted() const { return fitted_; }

  // Checkpoint support: SaveTo appends this object's state; LoadFrom
  // replaces it and returns false on a malformed or mismatching input.
  void SaveTo(internal::ByteWriter* out) const;
  bool LoadFrom(internal::ByteReader* in);
  int references() const { return references_; }

  // REQUIRES: fitted().
  void Normalize(const float* row, float* out) const;

 private:
  float NormalizeValue(int dim, float value) const;

  int dim_;
  int references_;
  bool fitted_ = false;
  std::vector<std::vector<float>> sorted_;  // per dimension, ascending
  std::vector<double> tail_scale_;          // per dimension, > 0
  std::vector<double> gaussian_;            // normal quantiles of (j + 0.5) / n
};

}  // namespace mine

#endif  // SERVER_CORE_QUANTILE_NORMALIZER_H_
