#ifndef SERVER_SERVICE_TOKEN_STORE_H_
#define SERVER_SERVICE_TOKEN_STORE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace mine {

// The bearer tokens mine-server accepts and the tenant each one stands for,
// loaded from a file of `token tenant` lines ('#' starts a comment). With no
// file the store is open: every call is tenant "" and nothing is checked.
// Tokens are compared in constant time and never appear in a status message.
// Thread-safe; Reload swaps the whole table at once.
//
//   auto store = TokenStore::Load("/etc/mine/tokens");
//   absl::StatusOr<std::string> tenant = (*store)->Authenticate("Bearer s3cret");
class TokenStore {
 public:
  // `path` empty: an open store. Otherwise the file must parse and hold at
  // least one token.
  static absl::StatusOr<std::unique_ptr<TokenStore>> Load(std::string path);
  TokenStore(const TokenStore&) = delete;
  TokenStore& operator=(const TokenStore&) = delete;

  // Parses `token tenant` lines; INVALID_ARGUMENT names the line, not the token.
  static absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Parse(
      absl::string_view text);

  // Re-reads the file. On error the old table stays in force. OK when open.
  absl::Status Reload();

  bool open() const { return path_.empty(); }
  int size() const;
  const std::string& path() const { return path_; }

  // The tenant of an `authorization` header value ("Bearer <token>").
  // Open store: "" whatever the header. UNAUTHENTICATED when the header is
  // missing, malformed or names no known token.
  absl::StatusOr<std::string> Authenticate(absl::string_view authorization) const;

 private:
  explicit TokenStore(std::string path) : path_(std::move(path)) {}

  const std::string path_;
  mutable absl::Mutex mu_;
  std::vector<std::pair<std::string, std::string>> tokens_ ABSL_GUARDED_BY(mu_);
};

// True when `a` and `b` are equal; the time taken depends only on their
// lengths, not on where they differ.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

}  // namespace mine

#endif  // SERVER_SERVICE_TOKEN_STORE_H_
