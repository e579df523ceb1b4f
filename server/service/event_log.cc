#include "server/service/event_log.h"

#include <atomic>
#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace mine {
namespace {

std::atomic<EventLog::Format> g_format{EventLog::Format::kOff};

std::string JsonQuote(absl::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof(buffer), "\\u%04x", c);
          out += buffer;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string TextValue(absl::string_view s) {
  if (!s.empty() && !absl::StrContains(s, ' ') && !absl::StrContains(s, '"') &&
      !absl::StrContains(s, '=') && !absl::StrContains(s, '\n')) {
    return std::string(s);
  }
  return JsonQuote(s);
}

}  // namespace

void EventLog::SetFormat(Format format) { g_format.store(format); }

bool EventLog::ParseFormat(absl::string_view name, Format* format) {
  if (name == "text")
    *format = Format::kText;
  else if (name == "json")
    *format = Format::kJson;
  else if (name == "off")
    *format = Format::kOff;
  else
    return false;
  return true;
}

std::string EventLog::Render(Format format, absl::string_view event, const Fields& fields) {
  std::string line;
  if (format == Format::kJson) {
    line = absl::StrCat("{\"event\":", JsonQuote(event));
    for (const auto& [key, value] : fields) {
      absl::StrAppend(&line, ",", JsonQuote(key), ":", JsonQuote(value));
    }
    line += "}";
  } else {
    line = absl::StrCat("event=", TextValue(event));
    for (const auto& [key, value] : fields) absl::StrAppend(&line, " ", key, "=", TextValue(value));
  }
  return line;
}

void EventLog::Write(absl::string_view event, const Fields& fields) {
  const Format format = g_format.load();
  if (format == Format::kOff) return;
  const std::string time =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  std::string line = Render(format, event, fields);
  if (format == Format::kJson) {
    line = absl::StrCat("{\"time\":\"", time, "\",", line.substr(1), "\n");
  } else {
    line = absl::StrCat("time=", time, " ", line, "\n");
  }
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace mine
