#include "client/cli/csv_reader.h"

#include <cmath>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace mine::cli {
namespace {

std::vector<std::string> SplitFields(absl::string_view line, char delimiter) {
  std::vector<std::string> fields;
  for (absl::string_view field : absl::StrSplit(line, delimiter)) {
    field = absl::StripAsciiWhitespace(field);
    if (field.size() >= 2 && field.front() == '"' && field.back() == '"') {
      field = field.substr(1, field.size() - 2);
    }
    fields.emplace_back(field);
  }
  return fields;
}

bool IsNumber(const std::string& field) {
  double value;
  return absl::SimpleAtod(field, &value);
}

ColumnSelection Range(int first, int last) {
  return *ColumnSelection::Parse(absl::StrCat(first, "-", last));
}

}  // namespace

CsvReader::CsvReader(ColumnSelection x_cols, ColumnSelection z_cols, char delimiter)
    : x_cols_(std::move(x_cols)), z_cols_(std::move(z_cols)), delimiter_(delimiter) {}

absl::Status CsvReader::Setup(const std::vector<std::string>& fields, bool is_header) {
  fields_ = static_cast<int>(fields.size());
  if (is_header) header_ = fields;
  if (x_cols_.empty() != z_cols_.empty()) {
    return absl::InvalidArgumentError("give both --x-cols and --z-cols, or neither");
  }
  if (x_cols_.empty()) {
    if (fields_ < 2 || fields_ % 2 != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "rows have ", fields_, " fields, which do not split into equal x and z halves; "
          "choose columns with --x-cols and --z-cols"));
    }
    x_cols_ = Range(0, fields_ / 2 - 1);
    z_cols_ = Range(fields_ / 2, fields_ - 1);
  }
  absl::StatusOr<std::vector<int>> x = x_cols_.Resolve(header_, fields_);
  if (!x.ok()) return absl::InvalidArgumentError(absl::StrCat("--x-cols: ", x.status().message()));
  absl::StatusOr<std::vector<int>> z = z_cols_.Resolve(header_, fields_);
  if (!z.ok()) return absl::InvalidArgumentError(absl::StrCat("--z-cols: ", z.status().message()));
  if (x->empty() || z->empty()) {
    return absl::InvalidArgumentError("--x-cols and --z-cols must each select a column");
  }
  x_index_ = *std::move(x);
  z_index_ = *std::move(z);
  return absl::OkStatus();
}

absl::StatusOr<bool> CsvReader::ParseLine(absl::string_view line, std::vector<float>* x,
                                          std::vector<float>* z) {
  ++line_number_;
  absl::ConsumeSuffix(&line, "\r");
  absl::string_view trimmed = absl::StripAsciiWhitespace(line);
  if (trimmed.empty() || trimmed.front() == '#') return false;
  if (delimiter_ == 0) delimiter_ = line.find('\t') != absl::string_view::npos ? '\t' : ',';
  std::vector<std::string> fields = SplitFields(line, delimiter_);

  if (fields_ == 0) {
    bool is_header = false;
    for (const std::string& field : fields) is_header |= !IsNumber(field);
    absl::Status setup = Setup(fields, is_header);
    if (!setup.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("line ", line_number_, ": ", setup.message()));
    }
    if (is_header) return false;
  }
  if (static_cast<int>(fields.size()) != fields_) {
    return absl::InvalidArgumentError(absl::StrCat("line ", line_number_, ": ragged row: ",
                                                   fields.size(), " fields, expected ", fields_));
  }
  const size_t x_start = x->size();
  const size_t z_start = z->size();
  auto append = [&](const std::vector<int>& indices, std::vector<float>* out) -> absl::Status {
    for (int i : indices) {
      double value = 0;
      if (!absl::SimpleAtod(fields[i], &value) || !std::isfinite(value)) {
        const std::string name = header_.empty() ? "" : absl::StrCat(" ('", header_[i], "')");
        return absl::InvalidArgumentError(absl::StrCat("line ", line_number_, ", column ", i, name,
                                                       ": '", fields[i],
                                                       "' is not a finite number"));
      }
      out->push_back(static_cast<float>(value));
    }
    return absl::OkStatus();
  };
  absl::Status status = append(x_index_, x);
  if (status.ok()) status = append(z_index_, z);
  if (!status.ok()) {
    x->resize(x_start);
    z->resize(z_start);
    return status;
  }
  ++data_rows_;
  return true;
}

}  // namespace mine::cli
