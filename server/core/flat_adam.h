#ifndef SERVER_CORE_FLAT_ADAM_H_
#define SERVER_CORE_FLAT_ADAM_H_

#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace mine {

// Adam (Kingma & Ba; the update of torch::optim::Adam with its defaults:
// betas 0.9/0.999, eps 1e-8, no weight decay) over a list of parameter
// tensors whose gradients arrive as one flat array, updated in one pass
// instead of several tensor ops per parameter. Not thread-safe.
class FlatAdam {
 public:
  explicit FlatAdam(int64_t num_parameters);

  // REQUIRES: params are contiguous float tensors whose sizes add up to
  // num_parameters; grad holds their gradients in that order.
  void Step(const std::vector<torch::Tensor>& params, const float* grad, double learning_rate);
  // Forgets the moments and the step count.
  void Reset();

  int64_t steps() const { return steps_; }
  // The first and second moments, flat, in parameter order.
  const std::vector<float>& first_moment() const { return m_; }
  const std::vector<float>& second_moment() const { return v_; }
  // Restores state saved from the accessors above; false when the sizes do
  // not match or `steps` is negative.
  bool Load(int64_t steps, std::vector<float> m, std::vector<float> v);

 private:
  int64_t steps_ = 0;
  std::vector<float> m_;
  std::vector<float> v_;
};

}  // namespace mine

#endif  // SERVER_CORE_FLAT_ADAM_H_
