#ifndef CLIENT_CLI_COMMANDS_H_
#define CLIENT_CLI_COMMANDS_H_

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "client/cli/command_line.h"
#include "client/cli/output_formatter.h"
#include "grpcpp/grpcpp.h"

namespace mine::cli {

// What every subcommand gets: its parsed flags, the global flags and the
// output. Borrowed for the duration of one Run* call.
struct CommandContext {
  std::string command;
  const CommandLine* flags;
  std::string target;
  absl::Duration timeout;
  OutputFormatter* out;
  std::shared_ptr<grpc::Channel> channel;  // to target: plaintext or TLS (--tls-*)
  std::string token;                       // --token; empty: none
};

// Flags each subcommand accepts beyond the global ones.
std::set<std::string> FlagsOf(const std::string& command);
std::set<std::string> BoolFlagsOf(const std::string& command);

// Each returns the process exit code (see exit_codes.h).
int RunCreate(const CommandContext& context);
int RunGet(const CommandContext& context);
int RunList(const CommandContext& context);
int RunDelete(const CommandContext& context);
int RunEstimate(const CommandContext& context);
int RunWatch(const CommandContext& context);
int RunHealth(const CommandContext& context);
int RunPush(const CommandContext& context);
int RunStream(const CommandContext& context);
int RunGen(const CommandContext& context);

}  // namespace mine::cli

#endif  // CLIENT_CLI_COMMANDS_H_
