#include "client/cli/exit_codes.h"

#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace mine::cli {

ExitCode ExitCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return kExitConnection;
    default:
      return kExitServer;
  }
}

namespace {

bool IsTlsHandshakeFailure(const absl::Status& status) {
  return absl::StrContains(absl::AsciiStrToLower(status.message()), "handshake failed");
}

std::string Hint(const absl::Status& status, const std::string& target) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
      if (IsTlsHandshakeFailure(status)) {
        return absl::StrCat("the TLS handshake with ", target,
                            " failed: check that --tls-ca is the CA that signed the server's "
                            "certificate and, for mutual TLS, that --tls-cert/--tls-key are "
                            "signed by the CA the server trusts");
      }
      return absl::StrCat("is mine-server running at ", target,
                          "? start it or pass --target HOST:PORT");
    case absl::StatusCode::kDeadlineExceeded:
      return absl::StrCat("the server at ", target,
                          " did not answer in time; check it or raise --timeout");
    case absl::StatusCode::kNotFound:
      return "check the session id with `mine-cli list`, or create it (push/stream --create)";
    case absl::StatusCode::kAlreadyExists:
      return "pick another --session, or repeat the session's exact config";
    case absl::StatusCode::kInvalidArgument:
      return "fix the named field or data and retry";
    case absl::StatusCode::kResourceExhausted:
      return "a server limit was hit: retry later, send smaller batches, or delete sessions";
    default:
      return "see the server's log";
  }
}

}  // namespace

int ReportError(const absl::Status& status, const std::string& target) {
  std::fprintf(stderr, "mine-cli: %s (%s); %s\n", std::string(status.message()).c_str(),
               absl::StatusCodeToString(status.code()).c_str(), Hint(status, target).c_str());
  return ExitCodeFor(status);
}

int UsageError(const std::string& command, const std::string& message) {
  std::fprintf(stderr, "mine-cli: %s; run `mine-cli %s--help`\n", message.c_str(),
               command.empty() ? "" : (command + " ").c_str());
  return kExitUsage;
}

}  // namespace mine::cli
