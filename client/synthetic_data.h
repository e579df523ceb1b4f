#ifndef CLIENT_SYNTHETIC_DATA_H_
#define CLIENT_SYNTHETIC_DATA_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mine {

// An invertible map applied to every coordinate of x and z. It leaves the
// mutual information unchanged but defeats estimators that assume Gaussians.
enum class Transform { kNone, kCube, kAsinh, kNormalCdf };

absl::StatusOr<Transform> ParseTransform(absl::string_view name);
absl::string_view TransformName(Transform transform);

// A named case of CorrelatedGaussian, as benchmarks and reports list them.
struct GaussianCase {
  std::string name;  // e.g. "d5_rho0.8_cube"
  int dim;
  double rho;
  Transform transform;
};

// Samples with closed-form MI: x ~ N(0, I_d), z = rho x + sqrt(1 - rho^2) e,
// e ~ N(0, I_d), so corr(x_i, z_j) = rho if i == j else 0 and
// I(X; Z) = -(d / 2) log(1 - rho^2) nats, whatever the transform.
// Deterministic for a seed. Not thread-safe.
//
//   CorrelatedGaussian gen(/*dim=*/2, /*rho=*/0.8, Transform::kNone, /*seed=*/1);
//   gen.Fill(1000, &x, &z);   // x.size() == z.size() == 2000
class CorrelatedGaussian {
 public:
  CorrelatedGaussian(int dim, double rho, Transform transform, uint64_t seed);

  // Appends `rows` row-major pairs to *x and *z.
  void Fill(int64_t rows, std::vector<float>* x, std::vector<float>* z);
  void set_rho(double rho) { rho_ = rho; }

  int dim() const { return dim_; }
  double rho() const { return rho_; }
  double true_mi_nats() const { return TrueMiNats(dim_, rho_); }

  static double TrueMiNats(int dim, double rho);
  // The rho at which a d-dimensional pair has `mi_nats` of MI.
  static double RhoForMi(int dim, double mi_nats);

 private:
  float Apply(double value) const;

  int dim_;
  double rho_;
  Transform transform_;
  std::mt19937_64 rng_;
  std::normal_distribution<double> normal_;
};

}  // namespace mine

#endif  // CLIENT_SYNTHETIC_DATA_H_
