#ifndef CLIENT_CLI_OUTPUT_FORMATTER_H_
#define CLIENT_CLI_OUTPUT_FORMATTER_H_

#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "mine/v1/mine.pb.h"

namespace mine::cli {

enum class OutputFormat { kText, kJson, kCsv };

// Writes sessions and estimates to stdout as newline-delimited JSON, CSV
// (a header row before the first record of a kind) or text, and draws the
// live progress line (rows sent, rows/s, MI +- std error, state, and a bar
// when the total is known) on a TTY in text mode. Thread-safe.
class OutputFormatter {
 public:
  // `format` "" picks text on a TTY, JSON otherwise.
  static absl::StatusOr<OutputFormat> ParseFormat(const std::string& format);
  explicit OutputFormatter(OutputFormat format);

  void PrintSession(const v1::Session& session);
  void PrintEstimate(const v1::Estimate& estimate);
  // One dependence alert of session `session_id` (JSON: {"alert":KIND,...}).
  void PrintAlert(const std::string& session_id, const v1::Alert& alert);
  void PrintHealth(const std::string& service, const std::string& status);

  // Progress of push/stream: on a TTY in text mode, redraws one line
  // (total_rows < 0: unknown); otherwise a no-op (estimates are printed as
  // records instead). EndProgress() ends the line.
  void Progress(int64_t rows_sent, int64_t total_rows, const v1::Estimate* estimate);
  void EndProgress();
  bool live() const { return live_; }

 private:
  void Emit(const std::string& text) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const OutputFormat format_;
  const bool live_;
  const absl::Time start_;
  absl::Mutex mu_;
  bool session_header_ ABSL_GUARDED_BY(mu_) = false;
  bool estimate_header_ ABSL_GUARDED_BY(mu_) = false;
  bool alert_header_ ABSL_GUARDED_BY(mu_) = false;
  bool progress_open_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace mine::cli

#endif  // CLIENT_CLI_OUTPUT_FORMATTER_H_
