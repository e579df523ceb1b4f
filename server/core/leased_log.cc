#include "server/core/leased_log.h"

#include <utility>

namespace mine {
namespace {

// The lease went between loading the session and attaching its log.
absl::Status NoLease() {
  return absl::UnavailableError("the session's lease was lost while it loaded; retry");
}

}  // namespace

LeasedLog::LeasedLog(std::unique_ptr<IngestLog> log, std::shared_ptr<const LeaseGuard> guard)
    : log_(std::move(log)), guard_(std::move(guard)) {}

absl::Status LeasedLog::Append(int64_t index, int64_t sequence, absl::Span<const float> x,
                               absl::Span<const float> z) {
  if (guard_ == nullptr) return NoLease();
  if (absl::Status s = guard_->MayAppend(); !s.ok()) return s;
  if (absl::Status s = log_->Append(index, sequence, x, z); !s.ok()) return s;
  // Written but not acknowledged when the lease ran out meanwhile: the next
  // owner replays the record and the client's resend is a duplicate. (A
  // handoff that began meanwhile waits for this append: its checkpoint
  // needs the session's lock, which the caller holds.)
  return guard_->MayWrite();
}

absl::Status LeasedLog::Rotate(int64_t first_index) {
  if (guard_ == nullptr) return NoLease();
  if (absl::Status s = guard_->MayWrite(); !s.ok()) return s;
  return log_->Rotate(first_index);
}

absl::Status LeasedLog::Sync() { return log_->Sync(); }

}  // namespace mine
