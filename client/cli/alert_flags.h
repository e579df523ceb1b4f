#ifndef CLIENT_CLI_ALERT_FLAGS_H_
#define CLIENT_CLI_ALERT_FLAGS_H_

#include "absl/status/status.h"
#include "client/cli/command_line.h"
#include "mine/v1/mine.pb.h"

namespace mine::cli {

// The create flags of dependence alerts into config->alert_rules:
// --alert-above T | --alert-below T [--alert-hysteresis H] (threshold rule),
// --alert-change-k K [--alert-reference N] (change rule). INVALID_ARGUMENT
// naming the flag for a malformed or contradictory combination; the server
// checks the ranges.
absl::Status AlertRulesFromFlags(const CommandLine& flags, v1::SessionConfig* config);

}  // namespace mine::cli

#endif  // CLIENT_CLI_ALERT_FLAGS_H_
