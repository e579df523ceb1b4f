#include "client/synthetic_data.h"

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace mine {

absl::StatusOr<Transform> ParseTransform(absl::string_view name) {
  for (Transform t : {Transform::kNone, Transform::kCube, Transform::kAsinh,
                      Transform::kNormalCdf}) {
    if (name == TransformName(t)) return t;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown transform '", name, "'; expected none, cube, asinh or normal_cdf"));
}

absl::string_view TransformName(Transform transform) {
  switch (transform) {
    case Transform::kCube: return "cube";
    case Transform::kAsinh: return "asinh";
    case Transform::kNormalCdf: return "normal_cdf";
    case Transform::kNone: break;
  }
  return "none";
}

CorrelatedGaussian::CorrelatedGaussian(int dim, double rho, Transform transform,
                                       uint64_t seed)
    : dim_(dim), rho_(rho), transform_(transform), rng_(seed) {}

double CorrelatedGaussian::TrueMiNats(int dim, double rho) {
  return -0.5 * dim * std::log1p(-rho * rho);
}

double CorrelatedGaussian::RhoForMi(int dim, double mi_nats) {
  return std::sqrt(1.0 - std::exp(-2.0 * mi_nats / dim));
}

float CorrelatedGaussian::Apply(double v) const {
  switch (transform_) {
    case Transform::kCube: return static_cast<float>(v * v * v);
    case Transform::kAsinh: return static_cast<float>(std::asinh(v));
    case Transform::kNormalCdf: return static_cast<float>(0.5 * std::erfc(-v / std::sqrt(2.0)));
    case Transform::kNone: break;
  }
  return static_cast<float>(v);
}

void CorrelatedGaussian::Fill(int64_t rows, std::vector<float>* x, std::vector<float>* z) {
  const double noise = std::sqrt(1.0 - rho_ * rho_);
  x->reserve(x->size() + rows * dim_);
  z->reserve(z->size() + rows * dim_);
  for (int64_t r = 0; r < rows; ++r) {
    for (int i = 0; i < dim_; ++i) {
      const double xi = normal_(rng_);
      const double zi = rho_ * xi + noise * normal_(rng_);
      x->push_back(Apply(xi));
      z->push_back(Apply(zi));
    }
  }
}

}  // namespace mine
