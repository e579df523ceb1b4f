#ifndef SERVER_CORE_INTERNAL_FILE_UTIL_H_
#define SERVER_CORE_INTERNAL_FILE_UTIL_H_

// POSIX file helpers for the state directory. Errors name the path and the
// errno text ("No space left on device") and are UNAVAILABLE, a full disk
// included: clients retry later, and RESOURCE_EXHAUSTED from Ingest already
// means "queue full, wait for room" to the stream reactor.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mine::internal {

absl::Status FileError(absl::string_view what, int error);
// 0 or the errno of the failed write(); retries short writes and EINTR.
int WriteAll(int fd, absl::string_view data);
absl::Status SyncDirectory(const std::string& dir);
// Temporary file in the same directory, fsync, rename over `path`, fsync of
// the directory: `path` holds either the old or the new content, never a mix.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view data);
absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace mine::internal

#endif  // SERVER_CORE_INTERNAL_FILE_UTIL_H_
