#include "server/core/lease_store.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "server/core/internal/file_util.h"

namespace mine {
namespace {

constexpr char kMagic[] = "lease1";
// Another replica holds the lock file only for one read and one small
// write; waiting longer than this means its disk is stuck, so the caller
// is told to retry instead of blocking an RPC thread.
constexpr absl::Duration kLockPatience = absl::Seconds(2);

// A lease file is one short line; anything much longer is damage.
constexpr off_t kMaxLeaseFileBytes = 4096;
constexpr absl::Duration kMaxClockSkew = absl::Minutes(1);
// The owner of a damaged lease: no replica id can look like it.
constexpr char kDamagedOwner[] = "(damaged)";

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }
std::string FromDash(absl::string_view s) { return s == "-" ? "" : std::string(s); }

// An exclusive flock(2) on a file, released (with the file closed) on
// destruction or by the kernel when the process dies.
class FileLock {
 public:
  static absl::StatusOr<FileLock> Take(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      if (errno == ENOENT) return absl::NotFoundError(absl::StrCat(path, ": no such directory"));
      return internal::FileError(absl::StrCat("cannot open ", path), errno);
    }
    const absl::Time give_up = absl::Now() + kLockPatience;
    while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      if ((errno != EWOULDBLOCK && errno != EINTR) || absl::Now() > give_up) {
        const int error = errno;
        ::close(fd);
        return internal::FileError(absl::StrCat("cannot lock ", path), error);
      }
      absl::SleepFor(absl::Milliseconds(2));
    }
    return FileLock(fd);
  }
  FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // drops the flock
  }

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace

LeaseStore::LeaseStore(std::string sessions_dir, std::string replica_id, absl::Duration ttl,
                       LeaseClock clock)
    : sessions_dir_(std::move(sessions_dir)),
      replica_id_(std::move(replica_id)),
      ttl_(ttl),
      clock_(std::move(clock)) {}

std::string LeaseStore::SessionDir(absl::string_view id) const {
  return absl::StrCat(sessions_dir_, "/", id);
}

std::string LeaseStore::Format(const Lease& lease) {
  return absl::StrFormat("%s %s %d %d %s\n", kMagic, OrDash(lease.owner), lease.epoch,
                         absl::ToUnixMillis(lease.expires), OrDash(lease.requested_by));
}

absl::StatusOr<Lease> LeaseStore::Parse(absl::string_view text) {
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::StripAsciiWhitespace(text), ' ', absl::SkipEmpty());
  Lease lease;
  int64_t expires_ms = 0;
  // Epochs only ever count up by one, so a huge or negative one is damage
  // (and would overflow at the next ++).
  if (fields.size() != 5 || fields[0] != kMagic || !absl::SimpleAtoi(fields[2], &lease.epoch) ||
      !absl::SimpleAtoi(fields[3], &expires_ms) || lease.epoch < 0 ||
      lease.epoch > (int64_t{1} << 52)) {
    return absl::DataLossError(absl::StrCat("not a lease record: '", text.substr(0, 80), "'"));
  }
  lease.owner = FromDash(fields[1]);
  lease.expires = absl::FromUnixMillis(expires_ms);
  lease.requested_by = FromDash(fields[4]);
  return lease;
}

absl::StatusOr<Lease> LeaseStore::Read(absl::string_view id) const {
  const std::string path = absl::StrCat(SessionDir(id), "/lease");
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return internal::FileError(absl::StrCat("cannot stat ", path), errno);
    if (::stat(SessionDir(id).c_str(), &st) != 0) {
      return absl::NotFoundError(absl::StrCat("session '", id, "' does not exist"));
    }
    return Lease();
  }
  // A lease is written atomically, so an unreadable one is damage. Its
  // holder may still be alive and writing: count it as held by nobody we
  // know for a ttl from now, so a takeover waits as for a live one (the
  // first Acquire writes that expiry down, so it does not slide).
  const absl::Time now = clock_();
  absl::StatusOr<Lease> lease = absl::DataLossError("lease file too large");
  if (st.st_size <= kMaxLeaseFileBytes) {
    absl::StatusOr<std::string> text = internal::ReadFile(path);
    if (!text.ok()) return text.status();
    lease = Parse(*text);
  }
  if (!lease.ok()) {
    std::fprintf(stderr, "state: session '%s': %s; counted as held for %s\n",
                 std::string(id).c_str(), std::string(lease.status().message()).c_str(),
                 absl::FormatDuration(ttl_).c_str());
    Lease damaged;
    damaged.owner = kDamagedOwner;
    damaged.expires = now + ttl_;
    return damaged;
  }
  // No holder renews further ahead than a ttl (plus clock skew): a later
  // expiry is damage that would otherwise hold the session forever.
  lease->expires = std::min(lease->expires, now + ttl_ + kMaxClockSkew);
  return lease;
}

absl::StatusOr<Lease> LeaseStore::Update(
    absl::string_view id, const std::function<absl::StatusOr<bool>(Lease&)>& change) const {
  absl::StatusOr<FileLock> lock = FileLock::Take(absl::StrCat(SessionDir(id), "/lease.lock"));
  if (!lock.ok()) {
    if (absl::IsNotFound(lock.status())) {
      return absl::NotFoundError(absl::StrCat("session '", id, "' does not exist"));
    }
    return lock.status();
  }
  absl::StatusOr<Lease> lease = Read(id);
  if (!lease.ok()) return lease.status();
  absl::StatusOr<bool> changed = change(*lease);
  if (!changed.ok()) return changed.status();
  if (*changed) {
    if (absl::Status s =
            internal::WriteFileAtomically(absl::StrCat(SessionDir(id), "/lease"), Format(*lease));
        !s.ok()) {
      return s;
    }
  }
  return lease;
}

absl::StatusOr<Lease> LeaseStore::Acquire(absl::string_view id) {
  Lease seen;
  absl::StatusOr<Lease> lease = Update(id, [&](Lease& lease) -> absl::StatusOr<bool> {
    const absl::Time now = clock_();
    const bool held_elsewhere =
        !lease.owner.empty() && lease.owner != replica_id_ && lease.expires > now;
    if (held_elsewhere) {
      seen = lease;
      if (lease.requested_by == replica_id_) return false;
      lease.requested_by = replica_id_;
      return true;
    }
    lease.owner = replica_id_;
    ++lease.epoch;
    lease.expires = now + ttl_;
    lease.requested_by.clear();
    return true;
  });
  if (!lease.ok()) return lease.status();
  if (!lease->HeldBy(replica_id_)) {
    return absl::UnavailableError(absl::StrCat(
        "session '", id, "' is held by replica ", seen.owner, " (lease expires in ",
        absl::FormatDuration(absl::Ceil(seen.expires - clock_(), absl::Milliseconds(100))),
        ", or sooner when it hands the session over); retry"));
  }
  return lease;
}

absl::StatusOr<Lease> LeaseStore::Renew(absl::string_view id, int64_t epoch) {
  return Update(id, [&](Lease& lease) -> absl::StatusOr<bool> {
    if (!lease.HeldBy(replica_id_) || lease.epoch != epoch) return false;  // lost
    lease.expires = clock_() + ttl_;
    return true;
  });
}

absl::Status LeaseStore::Release(absl::string_view id, int64_t epoch) {
  absl::StatusOr<Lease> lease = Update(id, [&](Lease& lease) -> absl::StatusOr<bool> {
    if (!lease.HeldBy(replica_id_) || lease.epoch != epoch) return false;
    lease.owner.clear();
    lease.expires = clock_();
    return true;
  });
  return lease.status();
}

}  // namespace mine
