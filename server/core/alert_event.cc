#include "server/core/alert_event.h"

namespace mine {

std::string AlertKindName(AlertEvent::Kind kind) {
  switch (kind) {
    case AlertEvent::Kind::kThresholdFiring:
      return "threshold_firing";
    case AlertEvent::Kind::kThresholdResolved:
      return "threshold_resolved";
    case AlertEvent::Kind::kChange:
      return "change";
  }
  return "unknown";
}

std::string AlertRuleName(AlertEvent::Kind kind) {
  return kind == AlertEvent::Kind::kChange ? "change" : "threshold";
}

}  // namespace mine
