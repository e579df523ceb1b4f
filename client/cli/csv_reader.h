#ifndef CLIENT_CLI_CSV_READER_H_
#define CLIENT_CLI_CSV_READER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/cli/column_selection.h"

namespace mine::cli {

// Parses CSV or TSV text one line at a time into x and z rows.
//
// The delimiter is a tab if the first line has one, else a comma (or as
// given). Blank lines and lines starting with '#' are skipped. The first
// remaining line is a header if any of its fields is not a number; column
// names then resolve against it. Without --x-cols/--z-cols the first half of
// the fields is x and the second half z. Every row must have as many fields
// as the first, and every selected field must be a finite number; errors
// name the line ("line 17: ...").
//
// Not thread-safe.
class CsvReader {
 public:
  // `delimiter` 0: detect.
  CsvReader(ColumnSelection x_cols, ColumnSelection z_cols, char delimiter = 0);

  // Parses the next line (without its newline). Returns true when it was a
  // data row, appended to *x and *z; false for a header, comment or blank
  // line; INVALID_ARGUMENT "line N: ..." for bad input.
  absl::StatusOr<bool> ParseLine(absl::string_view line, std::vector<float>* x,
                                 std::vector<float>* z);

  int64_t line_number() const { return line_number_; }
  int64_t data_rows() const { return data_rows_; }
  // Known after the first header or data row; 0 before.
  int x_dim() const { return static_cast<int>(x_index_.size()); }
  int z_dim() const { return static_cast<int>(z_index_.size()); }

 private:
  absl::Status Setup(const std::vector<std::string>& fields, bool is_header);

  ColumnSelection x_cols_;
  ColumnSelection z_cols_;
  char delimiter_;
  int64_t line_number_ = 0;
  int64_t data_rows_ = 0;
  int fields_ = 0;  // 0 until the first row
  std::vector<std::string> header_;
  std::vector<int> x_index_;
  std::vector<int> z_index_;
};

}  // namespace mine::cli

#endif  // CLIENT_CLI_CSV_READER_H_
