#include "server/core/estimate.h"

#include <cmath>

namespace mine {

absl::string_view EstimateStateName(EstimateState state) {
  switch (state) {
    case EstimateState::kWarmingUp: return "WARMING_UP";
    case EstimateState::kTraining: return "TRAINING";
    case EstimateState::kConverged: return "CONVERGED";
    case EstimateState::kDivergedRecovered: return "DIVERGED_RECOVERED";
  }
  return "UNKNOWN";
}

double Estimate::mi_bits() const { return mi_nats / std::log(2.0); }

}  // namespace mine
