#ifndef CLIENT_CLI_EXIT_CODES_H_
#define CLIENT_CLI_EXIT_CODES_H_

#include <string>

#include "absl/status/status.h"

namespace mine::cli {

// mine-cli exit codes (also listed by `mine-cli --help`).
enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 2,       // bad flags or arguments, bad input data (CSV)
  kExitConnection = 3,  // server unreachable: UNAVAILABLE or DEADLINE_EXCEEDED
  kExitServer = 4,      // the server refused or failed the call (any other code)
};

// The exit code for a failed call's status.
ExitCode ExitCodeFor(const absl::Status& status);

// Prints "mine-cli: <message> (<CODE>); <what to do>" on stderr as one line
// and returns the matching exit code. `target` names the server in hints.
int ReportError(const absl::Status& status, const std::string& target);

// Prints "mine-cli: <message>; run `mine-cli <command> --help`" and returns
// kExitUsage.
int UsageError(const std::string& command, const std::string& message);

}  // namespace mine::cli

#endif  // CLIENT_CLI_EXIT_CODES_H_
