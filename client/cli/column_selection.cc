#include "client/cli/column_selection.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace mine::cli {

absl::StatusOr<ColumnSelection> ColumnSelection::Parse(const std::string& spec) {
  ColumnSelection selection;
  selection.spec_ = spec;
  if (spec.empty()) return selection;
  for (absl::string_view part : absl::StrSplit(spec, ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (part.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("empty column in '", spec, "'"));
    }
    Item item;
    std::vector<absl::string_view> bounds = absl::StrSplit(part, absl::MaxSplits('-', 1));
    if (bounds.size() == 2 && absl::SimpleAtoi(bounds[0], &item.first) &&
        absl::SimpleAtoi(bounds[1], &item.last)) {
      if (item.first < 0 || item.last < item.first) {
        return absl::InvalidArgumentError(absl::StrCat("bad column range '", part, "'"));
      }
    } else if (absl::SimpleAtoi(part, &item.first) && item.first >= 0) {
      item.last = item.first;
    } else {
      item.name = std::string(part);
    }
    selection.items_.push_back(item);
  }
  return selection;
}

absl::StatusOr<std::vector<int>> ColumnSelection::Resolve(const std::vector<std::string>& header,
                                                          int fields) const {
  std::vector<int> indices;
  for (const Item& item : items_) {
    if (!item.name.empty()) {
      if (header.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "column '", item.name, "' is a name, but the input has no header row"));
      }
      int found = -1;
      for (size_t i = 0; i < header.size(); ++i) {
        if (header[i] == item.name) found = static_cast<int>(i);
      }
      if (found < 0) {
        return absl::InvalidArgumentError(absl::StrCat("no column named '", item.name,
                                                       "' in the header (",
                                                       absl::StrJoin(header, ", "), ")"));
      }
      indices.push_back(found);
      continue;
    }
    for (int i = item.first; i <= item.last; ++i) {
      if (i >= fields) {
        return absl::InvalidArgumentError(absl::StrCat("column ", i, " is missing: rows have ",
                                                       fields, " fields (0..", fields - 1, ")"));
      }
      indices.push_back(i);
    }
  }
  return indices;
}

}  // namespace mine::cli
