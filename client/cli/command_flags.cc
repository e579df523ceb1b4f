#include "client/cli/commands.h"

namespace mine::cli {
namespace {

const std::set<std::string> kCreateFlags = {
    "session", "x-dim", "z-dim", "estimator", "hidden", "learning-rate", "batch-size", "window",
    "holdout", "seed", "ema-rate", "smile-clip", "activation", "marginal", "input-normalization",
    "alert-above", "alert-below", "alert-hysteresis", "alert-change-k", "alert-reference"};

}  // namespace

std::set<std::string> FlagsOf(const std::string& command) {
  if (command == "create") return kCreateFlags;
  if (command == "push" || command == "stream") {
    std::set<std::string> flags = kCreateFlags;
    flags.insert({"x-cols", "z-cols", "batch-rows", "delimiter", "idle-exit", "resume-s"});
    return flags;
  }
  if (command == "estimate") return {"session", "wait-converged"};
  if (command == "watch") return {"session", "interval-ms", "count"};
  if (command == "health") return {"service"};
  if (command == "gen") return {"dim", "rho", "mi", "transform", "rows", "seed", "out", "delimiter"};
  if (command == "list") return {};
  return {"session"};  // get, delete
}

std::set<std::string> BoolFlagsOf(const std::string& command) {
  if (command == "push" || command == "stream") return {"create", "follow"};
  if (command == "gen") return {"comment", "no-header"};
  if (command == "watch") return {"until-alert"};
  return {};
}

}  // namespace mine::cli
