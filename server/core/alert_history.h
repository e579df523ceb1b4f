#ifndef SERVER_CORE_ALERT_HISTORY_H_
#define SERVER_CORE_ALERT_HISTORY_H_

#include <cstddef>
#include <cstdint>
#include <deque>

#include "server/core/alert_event.h"

namespace mine {
namespace internal {
class ByteReader;
class ByteWriter;
}  // namespace internal

// A session's newest alerts, oldest first: at most kCapacity are kept, so a
// noisy rule cannot grow a session without bound; total() still counts
// every alert ever raised. Not thread-safe (the session guards it).
class AlertHistory {
 public:
  static constexpr size_t kCapacity = 100;

  void Add(const AlertEvent& event);
  const std::deque<AlertEvent>& events() const { return events_; }
  int64_t total() const { return total_; }

  // Checkpoint support.
  void SaveTo(internal::ByteWriter* out) const;
  bool LoadFrom(internal::ByteReader* in);

 private:
  std::deque<AlertEvent> events_;
  int64_t total_ = 0;
};

}  // namespace mine

#endif  // SERVER_CORE_ALERT_HISTORY_H_
