#ifndef SERVER_CORE_LEASED_LOG_H_
#define SERVER_CORE_LEASED_LOG_H_

#include <memory>

#include "server/core/lease_guard.h"
#include "server/core/session.h"

namespace mine {

// A session's log on a shared state directory: the session's own log, but
// only while this replica holds the session's lease. A batch is checked
// against the lease before it is written and again once it is durable, so
// that nothing is acknowledged after the lease's local deadline (a replica
// that was paused past it must not acknowledge a write the next owner may
// not have read). Rotating (a checkpoint) needs an unexpired lease too.
// Called with the session's lock held, like every IngestLog.
class LeasedLog : public IngestLog {
 public:
  LeasedLog(std::unique_ptr<IngestLog> log, std::shared_ptr<const LeaseGuard> guard);

  absl::Status Append(int64_t index, int64_t sequence, absl::Span<const float> x,
                      absl::Span<const float> z) override;
  absl::Status Rotate(int64_t first_index) override;
  absl::Status Sync() override;

 private:
  const std::unique_ptr<IngestLog> log_;
  const std::shared_ptr<const LeaseGuard> guard_;
};

}  // namespace mine

#endif  // SERVER_CORE_LEASED_LOG_H_
