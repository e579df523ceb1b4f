// push (validate a whole CSV/TSV input, then PushSamples in batches) and
// stream (one StreamSamples call fed line by line, optionally following a
// growing file).
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/cli/command_support.h"
#include "client/cli/commands.h"
#include "client/cli/csv_reader.h"
#include "client/cli/exit_codes.h"

namespace mine::cli {
namespace {

struct InputSpec {
  std::string path;  // "" or "-": stdin
  int64_t batch_rows = 0;
  char delimiter = 0;
  ColumnSelection x_cols;
  ColumnSelection z_cols;
  absl::Duration resume_for = absl::Seconds(60);  // --resume-s
};

// Parses the flags push and stream share; a usage error message on failure.
absl::StatusOr<InputSpec> ParseInputFlags(const CommandContext& context) {
  const CommandLine& f = *context.flags;
  InputSpec spec;
  if (!f.positionals().empty()) spec.path = f.positionals()[0];
  absl::StatusOr<int64_t> batch_rows = f.Int("batch-rows", 1024);
  if (!batch_rows.ok()) return batch_rows.status();
  if (*batch_rows < 1) return absl::InvalidArgumentError("--batch-rows must be >= 1");
  spec.batch_rows = *batch_rows;
  absl::StatusOr<double> resume_s = f.Double("resume-s", 60);
  if (!resume_s.ok()) return resume_s.status();
  if (!(*resume_s >= 0) || *resume_s > 86400) {
    return absl::InvalidArgumentError("--resume-s must be in 0..86400");
  }
  spec.resume_for = absl::Seconds(*resume_s);
  const std::string delimiter = f.String("delimiter");
  if (delimiter == "tab" || delimiter == "\\t" || delimiter == "\t") {
    spec.delimiter = '\t';
  } else if (delimiter.size() == 1) {
    spec.delimiter = delimiter[0];
  } else if (!delimiter.empty()) {
    return absl::InvalidArgumentError("--delimiter must be one character or 'tab'");
  }
  absl::StatusOr<ColumnSelection> x = ColumnSelection::Parse(f.String("x-cols"));
  if (!x.ok()) return absl::InvalidArgumentError(absl::StrCat("--x-cols: ", x.status().message()));
  absl::StatusOr<ColumnSelection> z = ColumnSelection::Parse(f.String("z-cols"));
  if (!z.ok()) return absl::InvalidArgumentError(absl::StrCat("--z-cols: ", z.status().message()));
  spec.x_cols = *std::move(x);
  spec.z_cols = *std::move(z);
  if (!f.Bool("create") && SessionIdArg(context).empty()) {
    return absl::InvalidArgumentError("give --session ID, or --create to make a new session");
  }
  return spec;
}

// PushSamples, retried with backoff while the server is UNAVAILABLE (e.g.
// restarting) for up to `resume_for`. The batch carries a sequence, so a
// retry of a batch that did land is acknowledged as a duplicate, not applied.
absl::StatusOr<v1::PushSamplesResponse> PushResuming(MineClient& client,
                                                     const v1::SampleBatch& batch,
                                                     absl::Duration resume_for) {
  const absl::Time deadline = absl::Now() + resume_for;
  absl::Duration delay = absl::Milliseconds(200);
  for (;;) {
    absl::StatusOr<v1::PushSamplesResponse> pushed = client.PushSamples(batch);
    if (pushed.ok() || pushed.status().code() != absl::StatusCode::kUnavailable ||
        absl::Now() + delay > deadline) {
      return pushed;
    }
    absl::SleepFor(delay);
    delay = std::min(delay * 2, absl::Seconds(2));
  }
}

// A duplicate of batch `sequence` is our own earlier attempt (whose reply
// was lost) when the session's last sequence is exactly ours.
bool OwnEarlierAttempt(MineClient& client, const std::string& id, int64_t sequence) {
  absl::StatusOr<v1::Session> session = client.GetSession(id);
  return session.ok() && session->last_sequence() == sequence;
}

std::string InputName(const InputSpec& spec) {
  return spec.path.empty() || spec.path == "-" ? "stdin" : spec.path;
}

// With --create: checks the create flags against the selected dimensions
// (a usage error, exit 2, before anything is sent) and creates the session
// (a server error). Without: the session id. Returns its id, or sets
// *exit_code.
std::string MaybeCreate(const CommandContext& context, MineClient& client, int x_dim, int z_dim,
                        int* exit_code) {
  const std::string id = SessionIdArg(context);
  if (!context.flags->Bool("create")) return id;
  absl::StatusOr<v1::SessionConfig> config = ConfigFromFlags(context, x_dim, z_dim);
  if (!config.ok()) {
    *exit_code = UsageError(context.command, std::string(config.status().message()));
    return "";
  }
  absl::StatusOr<v1::Session> session = client.CreateSession(id, *config);
  if (!session.ok()) {
    *exit_code = ReportError(session.status(), context.target);
    return "";
  }
  std::fprintf(stderr, "mine-cli: session %s (x_dim %d, z_dim %d)\n",
               session->session_id().c_str(), x_dim, z_dim);
  return session->session_id();
}

}  // namespace

int RunPush(const CommandContext& context) {
  absl::StatusOr<InputSpec> spec = ParseInputFlags(context);
  if (!spec.ok()) return UsageError(context.command, std::string(spec.status().message()));
  std::ifstream file;
  std::istream* in = &std::cin;
  if (InputName(*spec) != "stdin") {
    file.open(spec->path);
    if (!file) return UsageError(context.command, absl::StrCat("cannot read ", spec->path));
    in = &file;
  }
  // Validate everything before sending anything.
  CsvReader reader(spec->x_cols, spec->z_cols, spec->delimiter);
  std::vector<float> x, z;
  std::string line;
  while (std::getline(*in, line)) {
    absl::StatusOr<bool> row = reader.ParseLine(line, &x, &z);
    if (!row.ok()) {
      return UsageError(context.command, absl::StrCat(InputName(*spec), ": ", row.status().message(),
                                                      " (nothing was sent)"));
    }
  }
  const int64_t rows = reader.data_rows();
  if (rows == 0) {
    return UsageError(context.command, absl::StrCat(InputName(*spec), " has no data rows"));
  }
  const int x_dim = reader.x_dim();
  const int z_dim = reader.z_dim();

  std::unique_ptr<MineClient> client = MakeClient(context);
  int create_failed = kExitOk;
  const std::string id = MaybeCreate(context, *client, x_dim, z_dim, &create_failed);
  if (create_failed != kExitOk) return create_failed;
  absl::StatusOr<v1::Session> session = client->GetSession(id);
  if (!session.ok()) return ReportError(session.status(), context.target);
  if (session->config().x_dim() != x_dim || session->config().z_dim() != z_dim) {
    return UsageError(context.command,
                      absl::StrCat("the columns select x_dim ", x_dim, ", z_dim ", z_dim,
                                   " but session ", id, " has ", session->config().x_dim(), ", ",
                                   session->config().z_dim(), " (nothing was sent)"));
  }
  // Sequence numbers make a retried push count once. A batch acknowledged
  // as a duplicate means another writer advanced the session's sequence:
  // its rows were not applied, so stop rather than lose rows silently.
  int64_t sequence = session->last_sequence();
  absl::Time last_estimate_at = absl::Now();
  std::unique_ptr<v1::Estimate> latest;
  for (int64_t first = 0; first < rows; first += spec->batch_rows) {
    const int64_t take = std::min(spec->batch_rows, rows - first);
    v1::SampleBatch batch;
    batch.set_session_id(id);
    batch.set_sequence(++sequence);
    batch.mutable_x()->Add(x.begin() + first * x_dim, x.begin() + (first + take) * x_dim);
    batch.mutable_z()->Add(z.begin() + first * z_dim, z.begin() + (first + take) * z_dim);
    absl::StatusOr<v1::PushSamplesResponse> pushed =
        PushResuming(*client, batch, spec->resume_for);
    if (!pushed.ok()) {
      context.out->EndProgress();
      return ReportError(pushed.status(), context.target);
    }
    if (pushed->duplicate() && !OwnEarlierAttempt(*client, id, sequence)) {
      context.out->EndProgress();
      return ReportError(
          absl::AbortedError(absl::StrCat(
              "PushSamples: batch with sequence ", sequence, " was not applied because session ",
              id, " already accepted a higher sequence (another writer is pushing to it); ",
              first, " of ", rows, " rows were sent")),
          context.target);
    }
    // On a TTY, refresh the MI shown on the progress line about once a second.
    if (context.out->live() && absl::Now() - last_estimate_at > absl::Seconds(1)) {
      last_estimate_at = absl::Now();
      if (absl::StatusOr<v1::Estimate> e = client->GetEstimate(id); e.ok()) {
        latest = std::make_unique<v1::Estimate>(*std::move(e));
      }
    }
    context.out->Progress(first + take, rows, latest.get());
  }
  context.out->EndProgress();
  absl::StatusOr<v1::Estimate> estimate = client->GetEstimate(id);
  if (!estimate.ok()) return ReportError(estimate.status(), context.target);
  context.out->PrintEstimate(*estimate);
  return kExitOk;
}

int RunStream(const CommandContext& context) {
  absl::StatusOr<InputSpec> spec = ParseInputFlags(context);
  if (!spec.ok()) return UsageError(context.command, std::string(spec.status().message()));
  absl::StatusOr<double> idle_exit = context.flags->Double("idle-exit", 0);
  if (!idle_exit.ok()) return UsageError(context.command, std::string(idle_exit.status().message()));
  const bool follow = context.flags->Bool("follow");
  std::ifstream file;
  std::istream* in = &std::cin;
  int64_t total_bytes = -1;
  if (InputName(*spec) != "stdin") {
    file.open(spec->path);
    if (!file) return UsageError(context.command, absl::StrCat("cannot read ", spec->path));
    in = &file;
    struct stat st;
    if (!follow && stat(spec->path.c_str(), &st) == 0) total_bytes = st.st_size;
  } else if (follow) {
    return UsageError(context.command, "--follow needs a FILE argument");
  }

  std::unique_ptr<MineClient> client = MakeClient(context);
  CsvReader reader(spec->x_cols, spec->z_cols, spec->delimiter);
  std::unique_ptr<SampleStreamWriter> writer;
  std::vector<float> x, z;  // rows of the batch being filled
  int64_t bytes_read = 0;
  absl::Mutex mu;
  v1::Estimate latest;
  bool has_latest = false;

  auto send_pending = [&]() -> absl::Status {
    const int64_t rows = static_cast<int64_t>(x.size()) / reader.x_dim();
    if (rows == 0) return absl::OkStatus();
    absl::Status status = writer->WriteRows(rows, x, z);
    x.clear();
    z.clear();
    // Progress in bytes of the file when its size is known, else in rows.
    absl::MutexLock lock(&mu);
    if (total_bytes > 0) {
      context.out->Progress(writer->rows_sent(),
                            writer->rows_sent() * total_bytes / std::max<int64_t>(1, bytes_read),
                            has_latest ? &latest : nullptr);
    } else {
      context.out->Progress(writer->rows_sent(), -1, has_latest ? &latest : nullptr);
    }
    return status;
  };

  std::string line, partial;
  absl::Time last_data = absl::Now();
  int exit_code = kExitOk;
  absl::Status failure;
  while (true) {
    if (!std::getline(*in, line)) {
      if (!follow) break;
      if (in->eof() && !line.empty()) partial += line;
      in->clear();
      if (*idle_exit > 0 && absl::Now() - last_data > absl::Seconds(*idle_exit)) break;
      absl::SleepFor(absl::Milliseconds(100));
      continue;
    }
    if (in->eof() && follow) {  // a line without its newline yet
      partial += line;
      in->clear();
      continue;
    }
    line = partial + line;
    partial.clear();
    last_data = absl::Now();
    bytes_read += static_cast<int64_t>(line.size()) + 1;
    absl::StatusOr<bool> row = reader.ParseLine(line, &x, &z);
    if (!row.ok()) {
      exit_code = UsageError(
          context.command,
          absl::StrCat(InputName(*spec), ": ", row.status().message(), "; stopped: only the ",
                       writer ? writer->rows_sent() : 0,
                       " rows of earlier complete batches were sent"));
      x.resize(0);
      z.resize(0);
      break;
    }
    if (!*row) continue;
    if (writer == nullptr) {
      int create_failed = kExitOk;
      const std::string id =
          MaybeCreate(context, *client, reader.x_dim(), reader.z_dim(), &create_failed);
      if (create_failed != kExitOk) return create_failed;
      SampleStreamWriter::Options options;
      options.batch_rows = spec->batch_rows;
      options.resume_for = spec->resume_for;
      options.on_estimate = [&](const v1::Estimate& estimate) {
        {
          absl::MutexLock lock(&mu);
          latest = estimate;
          has_latest = true;
        }
        if (!context.out->live()) context.out->PrintEstimate(estimate);
      };
      absl::StatusOr<std::unique_ptr<SampleStreamWriter>> opened = client->OpenStream(id, options);
      if (!opened.ok()) return ReportError(opened.status(), context.target);
      writer = *std::move(opened);
    }
    if (static_cast<int64_t>(x.size()) / reader.x_dim() >= spec->batch_rows) {
      failure = send_pending();
      if (!failure.ok()) break;
    }
  }
  if (writer == nullptr) {
    if (exit_code != kExitOk) return exit_code;
    return UsageError(context.command, absl::StrCat(InputName(*spec), " has no data rows"));
  }
  if (failure.ok() && exit_code == kExitOk) failure = send_pending();
  absl::StatusOr<v1::Estimate> final_estimate =
      failure.ok() ? writer->Finish() : absl::StatusOr<v1::Estimate>(failure);
  context.out->EndProgress();
  if (!final_estimate.ok()) return ReportError(final_estimate.status(), context.target);
  context.out->PrintEstimate(*final_estimate);
  return exit_code;
}

}  // namespace mine::cli
