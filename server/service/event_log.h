#ifndef SERVER_SERVICE_EVENT_LOG_H_
#define SERVER_SERVICE_EVENT_LOG_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace mine {

// mine-server's structured log: one line per event on stderr, as
// `time=... event=... key=value ...` (text) or one JSON object (json).
// Callers pass what an operator needs (session id, peer, tenant, status
// code) and never a token or a payload. Process-wide; thread-safe (each line
// is one write).
//
//   EventLog::SetFormat(EventLog::Format::kJson);
//   EventLog::Write("session_created", {{"session", id}, {"peer", call->peer()}});
class EventLog {
 public:
  enum class Format { kOff, kText, kJson };
  using Fields = std::vector<std::pair<std::string, std::string>>;

  // kOff (the default) writes nothing: in-process tests stay quiet.
  static void SetFormat(Format format);
  // "text", "json" or "off"; false for anything else.
  static bool ParseFormat(absl::string_view name, Format* format);
  static void Write(absl::string_view event, const Fields& fields);
  // The line Write would print, without the time; for tests.
  static std::string Render(Format format, absl::string_view event, const Fields& fields);
};

}  // namespace mine

#endif  // SERVER_SERVICE_EVENT_LOG_H_
