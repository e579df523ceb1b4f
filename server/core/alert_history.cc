#include "server/core/alert_history.h"

#include "server/core/internal/byte_io.h"

namespace mine {

void AlertHistory::Add(const AlertEvent& event) {
  events_.push_back(event);
  if (events_.size() > kCapacity) events_.pop_front();
  ++total_;
}

void AlertHistory::SaveTo(internal::ByteWriter* out) const {
  out->I64(total_);
  out->U64(events_.size());
  for (const AlertEvent& e : events_) {
    out->I64(static_cast<int64_t>(e.kind));
    out->F64(e.mi_nats);
    out->F64(e.reference_nats);
    out->I64(e.samples_seen);
    out->U64(e.estimate_version);
    out->Str(e.message);
    out->I64(absl::ToUnixNanos(e.time));
  }
}

bool AlertHistory::LoadFrom(internal::ByteReader* in) {
  uint64_t count;
  if (!in->I64(&total_) || !in->U64(&count) || count > kCapacity) return false;
  events_.clear();
  for (uint64_t i = 0; i < count; ++i) {
    AlertEvent e;
    int kind;
    int64_t time;
    if (!in->Int(&kind) || kind < 1 || kind > 3 || !in->F64(&e.mi_nats) ||
        !in->F64(&e.reference_nats) || !in->I64(&e.samples_seen) ||
        !in->U64(&e.estimate_version) || !in->Str(&e.message) || !in->I64(&time)) {
      return false;
    }
    e.kind = static_cast<AlertEvent::Kind>(kind);
    e.time = absl::FromUnixNanos(time);
    events_.push_back(std::move(e));
  }
  return true;
}

}  // namespace mine
