#include "server/core/session_manager.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/core/torch_runtime.h"

namespace mine {
namespace {

constexpr size_t kMaxIdLength = 128;

bool IsIdChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
         c == '-';
}

// At most 32 printable characters of an untrusted id, for error messages.
std::string Excerpt(absl::string_view id) {
  std::string out;
  for (char c : id.substr(0, 32)) out.push_back(IsIdChar(c) ? c : '?');
  if (id.size() > 32) out += "...";
  return out;
}

}  // namespace

absl::Status ValidateSessionId(absl::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError("session_id is empty");
  if (id.size() > kMaxIdLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "session_id is ", id.size(), " characters long; at most ", kMaxIdLength,
        " are allowed"));
  }
  for (size_t i = 0; i < id.size(); ++i) {
    if (!IsIdChar(id[i])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "session_id '", Excerpt(id), "' has a character outside [A-Za-z0-9._-] at position ",
          i));
    }
  }
  return absl::OkStatus();
}

SessionManager::SessionManager(const SessionManagerOptions& options)
    : options_(options),
      pool_((InitTorchRuntime(), options.workers > 0 ? options.workers : AvailableCpus())),
      id_rng_(std::random_device{}()) {}

SessionManager::~SessionManager() {
  std::map<std::string, std::shared_ptr<Session>, std::less<>> sessions;
  {
    absl::MutexLock lock(&mu_);
    sessions.swap(sessions_);
  }
  // Outside the lock: closing runs watchers' callbacks.
  for (auto& [id, session] : sessions) session->Close();
}

std::string SessionManager::GenerateId() {
  for (;;) {
    std::string id = absl::StrFormat("s-%016x", id_rng_());
    if (sessions_.find(id) == sessions_.end()) return id;
  }
}

absl::StatusOr<std::shared_ptr<Session>> SessionManager::Create(
    absl::string_view requested_id, const SessionConfig& config) {
  if (!requested_id.empty()) {
    if (absl::Status s = ValidateSessionId(requested_id); !s.ok()) return s;
  }
  absl::MutexLock lock(&mu_);
  std::string id = requested_id.empty() ? GenerateId() : std::string(requested_id);
  if (auto it = sessions_.find(id); it != sessions_.end()) {
    absl::StatusOr<SessionConfig> wanted = ResolveSessionConfig(config, id, options_.limits);
    if (!wanted.ok()) return wanted.status();
    if (*wanted != it->second->config()) {
      return absl::AlreadyExistsError(absl::StrCat(
          "session '", id, "' exists with a different config (",
          DescribeConfig(it->second->config()), ")"));
    }
    return it->second;
  }
  if (static_cast<int>(sessions_.size()) >= options_.max_sessions) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the server holds its limit of ", options_.max_sessions,
        " sessions; delete one first"));
  }
  absl::StatusOr<std::shared_ptr<Session>> session =
      Session::Create(id, config, &pool_, options_.session, options_.limits);
  if (!session.ok()) return session.status();
  const int64_t values = ReservedValues((*session)->config());
  if (reserved_values_ + values > options_.max_total_values) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the server's sessions may already hold ", reserved_values_, " of its ",
        options_.max_total_values, " values; a window of ", values,
        " more does not fit: use a smaller window_size or delete a session"));
  }
  reserved_values_ += values;
  sessions_.emplace(id, *session);
  return session;
}

absl::StatusOr<std::shared_ptr<Session>> SessionManager::Get(absl::string_view id) const {
  if (absl::Status s = ValidateSessionId(id); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) {
    return absl::NotFoundError(absl::StrCat("session '", id, "' does not exist"));
  }
  return it->second;
}

absl::StatusOr<SessionManager::Page> SessionManager::List(
    int page_size, absl::string_view page_token) const {
  if (page_size < 0 || page_size > kMaxPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size = ", page_size, " is out of range: 0..", kMaxPageSize));
  }
  if (!page_token.empty()) {
    if (absl::Status s = ValidateSessionId(page_token); !s.ok()) {
      return absl::InvalidArgumentError("page_token is not one this server issued");
    }
  }
  const int size = page_size == 0 ? kDefaultPageSize : page_size;
  Page page;
  absl::MutexLock lock(&mu_);
  auto it = page_token.empty() ? sessions_.begin() : sessions_.upper_bound(page_token);
  for (; it != sessions_.end() && static_cast<int>(page.sessions.size()) < size; ++it) {
    page.sessions.push_back(it->second);
  }
  if (it != sessions_.end()) page.next_page_token = page.sessions.back()->id();
  return page;
}

absl::Status SessionManager::Delete(absl::string_view id) {
  if (absl::Status s = ValidateSessionId(id); !s.ok()) return s;
  std::shared_ptr<Session> session;
  {
    absl::MutexLock lock(&mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) {
      return absl::NotFoundError(absl::StrCat("session '", id, "' does not exist"));
    }
    session = std::move(it->second);
    sessions_.erase(it);
    reserved_values_ -= ReservedValues(session->config());
  }
  session->Close();
  return absl::OkStatus();
}

int64_t SessionManager::ReservedValues(const SessionConfig& config) const {
  return int64_t{config.window_size} * (int64_t{config.x_dim} + config.z_dim) +
         options_.session.max_pending_values;
}

int SessionManager::session_count() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(sessions_.size());
}

}  // namespace mine
