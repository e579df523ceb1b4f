#ifndef CLIENT_CLI_COLUMN_SELECTION_H_
#define CLIENT_CLI_COLUMN_SELECTION_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mine::cli {

// A list of columns as given on the command line: zero-based indices and
// inclusive ranges ("0-4,7") or header names ("a,b"), mixed freely.
// Resolve() turns it into indices once the header (if any) is known.
class ColumnSelection {
 public:
  // INVALID_ARGUMENT for an empty item or a reversed range.
  static absl::StatusOr<ColumnSelection> Parse(const std::string& spec);

  bool empty() const { return items_.empty(); }
  const std::string& spec() const { return spec_; }

  // Indices in the order given. INVALID_ARGUMENT naming the column when a
  // name is not in `header` (or there is no header), or an index is not
  // below `fields`.
  absl::StatusOr<std::vector<int>> Resolve(const std::vector<std::string>& header,
                                           int fields) const;

 private:
  struct Item {
    std::string name;  // empty for an index range
    int first = 0;
    int last = 0;
  };
  std::string spec_;
  std::vector<Item> items_;
};

}  // namespace mine::cli

#endif  // CLIENT_CLI_COLUMN_SELECTION_H_
