#include "server/service/tenant_registry.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/core/internal/file_util.h"

namespace mine {
namespace {

absl::Status NoSuchSession(absl::string_view id) {
  // The core's wording, so that another tenant's session looks missing.
  return absl::NotFoundError(absl::StrCat("session '", id, "' does not exist"));
}

absl::Status IdTaken(absl::string_view id) {
  return absl::AlreadyExistsError(
      absl::StrCat("session id '", id, "' is taken; choose another or leave it empty"));
}

}  // namespace

TenantRegistry::TenantRegistry(SessionManager* manager, TenantQuota quota, bool enforce,
                               std::string owners_file)
    : manager_(manager),
      quota_(quota),
      enforce_(enforce),
      owners_file_(std::move(owners_file)),
      sessions_dir_(manager->options().persistence.state_dir.empty()
                        ? ""
                        : manager->options().persistence.state_dir + "/sessions") {
  absl::MutexLock lock(&mu_);
  LoadOwners();
  if (!sessions_dir_.empty()) MigrateOwners();
}

std::string TenantRegistry::TenantFile(absl::string_view id) const {
  return absl::StrCat(sessions_dir_, "/", id, "/tenant");
}

void TenantRegistry::MigrateOwners() {
  if (owners_.empty()) return;
  for (auto it = owners_.begin(); it != owners_.end();) {
    // Done when the session has its file already, or is gone (no directory).
    std::error_code error;
    const bool done =
        std::filesystem::exists(TenantFile(it->first), error) ||
        !std::filesystem::is_directory(absl::StrCat(sessions_dir_, "/", it->first), error) ||
        internal::WriteFileAtomically(TenantFile(it->first), it->second + "\n").ok();
    it = done ? owners_.erase(it) : std::next(it);
  }
  if (owners_.empty()) {
    std::error_code error;
    std::filesystem::rename(owners_file_, owners_file_ + ".migrated", error);
    std::fprintf(stderr, "tenants: owners moved from %s into each session's tenant file\n",
                 owners_file_.c_str());
  }
}

std::optional<std::string> TenantRegistry::OwnerOf(absl::string_view id) const {
  if (!sessions_dir_.empty() && ValidateSessionId(id).ok()) {
    absl::StatusOr<std::string> text = internal::ReadFile(TenantFile(id));
    if (text.ok()) return std::string(absl::StripTrailingAsciiWhitespace(*text));
  }
  auto it = owners_.find(id);
  if (it == owners_.end()) return std::nullopt;
  return it->second;
}

absl::Status TenantRegistry::SetOwner(const std::string& id, const std::string& tenant) {
  if (!sessions_dir_.empty()) return internal::WriteFileAtomically(TenantFile(id), tenant + "\n");
  owners_[id] = tenant;
  absl::Status saved = SaveOwners();
  if (!saved.ok()) owners_.erase(id);
  return saved;
}

int TenantRegistry::CountSessions(const std::string& tenant, absl::string_view except) {
  int held = 0;
  if (!sessions_dir_.empty()) {
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(sessions_dir_, error)) {
      const std::string id = entry.path().filename().string();
      if (id != except && OwnerOf(id) == tenant) ++held;
    }
    return held;
  }
  for (auto it = owners_.begin(); it != owners_.end();) {
    if (!manager_->Get(it->first).ok()) {  // deleted by the reaper or a restart
      it = owners_.erase(it);
      continue;
    }
    if (it->second == tenant && it->first != except) ++held;
    ++it;
  }
  return held;
}

void TenantRegistry::LoadOwners() {
  if (owners_file_.empty() || !std::filesystem::exists(owners_file_)) return;
  absl::StatusOr<std::string> text = internal::ReadFile(owners_file_);
  if (!text.ok()) {
    std::fprintf(stderr, "tenants: %s\n", text.status().ToString().c_str());
    return;
  }
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    std::vector<std::string> fields = absl::StrSplit(line, ' ');
    if (fields.size() != 2 || !ValidateSessionId(fields[0]).ok()) {
      std::fprintf(stderr, "tenants: %s: skipping a malformed line\n", owners_file_.c_str());
      continue;
    }
    owners_[fields[0]] = fields[1];
  }
}

absl::Status TenantRegistry::SaveOwners() const {
  // With a state dir the sessions' tenant files are the record.
  if (owners_file_.empty() || !sessions_dir_.empty()) return absl::OkStatus();
  std::string text;
  for (const auto& [id, tenant] : owners_) absl::StrAppend(&text, id, " ", tenant, "\n");
  return internal::WriteFileAtomically(owners_file_, text);
}

bool TenantRegistry::Owns(const std::string& tenant, absl::string_view id) const {
  return !enforce_ || OwnerOf(id) == tenant;
}

absl::StatusOr<std::shared_ptr<Session>> TenantRegistry::Create(const std::string& tenant,
                                                                absl::string_view id,
                                                                const SessionConfig& config) {
  absl::MutexLock create_lock(&create_mu_);
  if (enforce_ || quota_.max_sessions > 0) {
    absl::MutexLock lock(&mu_);
    if (!id.empty() && enforce_ && manager_->Get(id).ok() && !Owns(tenant, id)) {
      return IdTaken(id);
    }
    if (quota_.max_sessions > 0) {
      const int held = CountSessions(tenant, id);
      const bool recreating = !id.empty() && OwnerOf(id) == tenant && manager_->Get(id).ok();
      if (!recreating && held >= quota_.max_sessions) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "tenant quota: at most ", quota_.max_sessions, " sessions; delete one first"));
      }
    }
  }
  absl::StatusOr<std::shared_ptr<Session>> session = manager_->Create(id, config);
  if (!session.ok()) return session.status();
  absl::MutexLock lock(&mu_);
  const std::string& created = (*session)->id();
  const std::optional<std::string> owner = OwnerOf(created);
  if (owner == tenant) return session;  // idempotent
  if (owner.has_value() && !sessions_dir_.empty()) {
    // Another tenant's session, loaded from the shared state dir after the
    // check above (its replica handed it over meanwhile). Tenant files go
    // with their session, so this one is current; never take it over.
    return IdTaken(created);
  }
  if (absl::Status saved = SetOwner(created, tenant); !saved.ok()) {
    // A session whose owner is not on disk would vanish for its tenant at the
    // next restart: refuse it now instead.
    manager_->Delete(created).IgnoreError();
    return absl::UnavailableError(
        absl::StrCat("session '", created, "' not created: ", saved.message()));
  }
  return session;
}

absl::StatusOr<std::shared_ptr<Session>> TenantRegistry::Find(const std::string& tenant,
                                                              absl::string_view id) const {
  {
    absl::MutexLock lock(&mu_);
    if (!Owns(tenant, id)) return NoSuchSession(id.substr(0, 128));
  }
  return manager_->Get(id);
}

absl::Status TenantRegistry::Delete(const std::string& tenant, absl::string_view id) {
  {
    absl::MutexLock lock(&mu_);
    if (!Owns(tenant, id)) return NoSuchSession(id.substr(0, 128));
  }
  absl::Status status = manager_->Delete(id);
  absl::MutexLock lock(&mu_);
  // With a state dir the tenant file went with the session's directory.
  if (auto it = owners_.find(id); it != owners_.end()) {
    owners_.erase(it);
    if (absl::Status saved = SaveOwners(); !saved.ok()) {
      std::fprintf(stderr, "tenants: %s\n", saved.ToString().c_str());
    }
  }
  return status;
}

absl::StatusOr<SessionManager::Page> TenantRegistry::List(const std::string& tenant,
                                                          int page_size,
                                                          absl::string_view page_token) const {
  if (!enforce_) return manager_->List(page_size, page_token);
  absl::StatusOr<SessionManager::Page> first = manager_->List(page_size, page_token);
  if (!first.ok()) return first.status();
  const size_t wanted = page_size == 0 ? SessionManager::kDefaultPageSize : page_size;
  SessionManager::Page result;
  SessionManager::Page page = *std::move(first);
  while (true) {
    for (std::shared_ptr<Session>& session : page.sessions) {
      bool mine;
      {
        absl::MutexLock lock(&mu_);
        mine = Owns(tenant, session->id());
      }
      if (!mine) continue;
      result.sessions.push_back(std::move(session));
      if (result.sessions.size() == wanted) {
        result.next_page_token = result.sessions.back()->id();
        return result;
      }
    }
    if (page.next_page_token.empty()) return result;
    absl::StatusOr<SessionManager::Page> next =
        manager_->List(SessionManager::kMaxPageSize, page.next_page_token);
    if (!next.ok()) return next.status();
    page = *std::move(next);
  }
}

absl::Status TenantRegistry::AdmitRows(const std::string& tenant, int64_t rows, absl::Time now) {
  if (quota_.rows_per_second <= 0) return absl::OkStatus();
  const double burst = quota_.rows_per_second;
  absl::MutexLock lock(&mu_);
  Bucket& bucket = buckets_[tenant];
  if (bucket.refilled == absl::InfinitePast()) {
    bucket.tokens = burst;
  } else {
    const double elapsed = std::max(0.0, absl::ToDoubleSeconds(now - bucket.refilled));
    bucket.tokens = std::min(burst, bucket.tokens + elapsed * quota_.rows_per_second);
  }
  bucket.refilled = now;
  const double need = std::min(static_cast<double>(rows), burst);
  if (bucket.tokens < need) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "tenant quota: at most ", quota_.rows_per_second, " rows per second; retry later"));
  }
  bucket.tokens -= static_cast<double>(rows);
  return absl::OkStatus();
}

}  // namespace mine
