#ifndef CLIENT_CLI_COMMAND_LINE_H_
#define CLIENT_CLI_COMMAND_LINE_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mine::cli {

// The arguments after the subcommand: `--name value`, `--name=value`,
// boolean `--name` (for names in `bool_flags`) and positionals. Typed
// getters return INVALID_ARGUMENT naming the flag. Not thread-safe.
class CommandLine {
 public:
  // INVALID_ARGUMENT for a flag that is not in `known` or lacks a value.
  static absl::StatusOr<CommandLine> Parse(const std::vector<std::string>& args,
                                           const std::set<std::string>& known,
                                           const std::set<std::string>& bool_flags);

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::string String(const std::string& name, const std::string& fallback = "") const;
  absl::StatusOr<int64_t> Int(const std::string& name, int64_t fallback) const;
  absl::StatusOr<double> Double(const std::string& name, double fallback) const;
  bool Bool(const std::string& name) const { return Has(name); }
  const std::vector<std::string>& positionals() const { return positionals_; }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positionals_;
};

}  // namespace mine::cli

#endif  // CLIENT_CLI_COMMAND_LINE_H_
