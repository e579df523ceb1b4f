#include "server/service/token_store.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace mine {

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  const size_t n = a.size() > b.size() ? a.size() : b.size();
  volatile unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff = diff | (x ^ y);
  }
  return diff == 0;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> TokenStore::Parse(
    absl::string_view text) {
  std::vector<std::pair<std::string, std::string>> tokens;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() != 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tokens file line ", line_number, ": expected 'token tenant', got ", fields.size(),
          " fields"));
    }
    if (fields[0].size() < 16) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tokens file line ", line_number, ": the token is shorter than 16 characters"));
    }
    for (const auto& [token, tenant] : tokens) {
      if (token == fields[0]) {
        return absl::InvalidArgumentError(
            absl::StrCat("tokens file line ", line_number, ": the token is listed twice"));
      }
    }
    tokens.emplace_back(std::string(fields[0]), std::string(fields[1]));
  }
  return tokens;
}

absl::StatusOr<std::unique_ptr<TokenStore>> TokenStore::Load(std::string path) {
  std::unique_ptr<TokenStore> store(new TokenStore(std::move(path)));
  if (absl::Status status = store->Reload(); !status.ok()) return status;
  return store;
}

absl::Status TokenStore::Reload() {
  if (open()) return absl::OkStatus();
  std::ifstream in(path_);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read tokens file ", path_));
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> tokens = Parse(text.str());
  if (!tokens.ok()) return tokens.status();
  if (tokens->empty()) {
    return absl::InvalidArgumentError(absl::StrCat("tokens file ", path_, " holds no token"));
  }
  absl::MutexLock lock(&mu_);
  tokens_ = *std::move(tokens);
  return absl::OkStatus();
}

int TokenStore::size() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(tokens_.size());
}

absl::StatusOr<std::string> TokenStore::Authenticate(absl::string_view authorization) const {
  if (open()) return std::string();
  constexpr absl::string_view kBearer = "Bearer ";
  if (authorization.empty()) {
    return absl::UnauthenticatedError("missing 'authorization: Bearer <token>' metadata");
  }
  if (!absl::StartsWithIgnoreCase(authorization, kBearer)) {
    return absl::UnauthenticatedError("the authorization metadata is not a Bearer token");
  }
  const absl::string_view presented = authorization.substr(kBearer.size());
  absl::MutexLock lock(&mu_);
  // Compare against every token so the time does not tell which one matched.
  const std::string* tenant = nullptr;
  for (const auto& [token, owner] : tokens_) {
    if (ConstantTimeEquals(token, presented) && tenant == nullptr) tenant = &owner;
  }
  if (tenant == nullptr) return absl::UnauthenticatedError("invalid bearer token");
  return *tenant;
}

}  // namespace mine
