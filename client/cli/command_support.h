#ifndef CLIENT_CLI_COMMAND_SUPPORT_H_
#define CLIENT_CLI_COMMAND_SUPPORT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "client/cli/commands.h"
#include "client/mine_client.h"
#include "mine/v1/mine.pb.h"

namespace mine::cli {

// A client for --target with --timeout as the unary deadline.
std::unique_ptr<MineClient> MakeClient(const CommandContext& context);

// The session id: --session, else the first positional; "" if neither.
std::string SessionIdArg(const CommandContext& context);

// A SessionConfig from the create flags (--estimator, --hidden, ...);
// x_dim/z_dim from --x-dim/--z-dim unless given (> 0). INVALID_ARGUMENT
// naming the flag.
absl::StatusOr<v1::SessionConfig> ConfigFromFlags(const CommandContext& context, int x_dim = 0,
                                                  int z_dim = 0);

}  // namespace mine::cli

#endif  // CLIENT_CLI_COMMAND_SUPPORT_H_
