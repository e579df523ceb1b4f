// mine-scale-out-client: the clients of tests/deploy/scale_out_test.sh.
// Streams paced, sequenced batches into N sessions at once through one
// target (nginx in front of the replicas), each with a resuming
// SampleStreamWriter, and polls each session's estimate once a second (what
// a dashboard would; the poll is also what routes a session back to a
// restarted replica). At the end it prints, per session, the rows the
// server acknowledged, the rows the session counts (samples_seen), its
// reconnects and its longest wait between two estimates, then a total line;
// exit 1 when any session counts other than what was acknowledged.
//
//   mine-scale-out-client --target 127.0.0.1:8080 --sessions 12 --seconds 40 [--stop_file F]
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/mine_client.h"
#include "client/synthetic_data.h"
#include "grpcpp/grpcpp.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "server or proxy address");
ABSL_FLAG(int, sessions, 12, "sessions streamed at once");
ABSL_FLAG(std::string, prefix, "so", "session ids are <prefix>-00, <prefix>-01, ...");
ABSL_FLAG(int, seconds, 40, "how long each session streams at most");
ABSL_FLAG(std::string, stop_file, "",
          "stop streaming as soon as this file exists (the test's cue); empty: after --seconds");
ABSL_FLAG(int, rows_per_batch, 20, "rows per batch (one batch per tick)");
ABSL_FLAG(int, tick_ms, 100, "time between batches of one session");
ABSL_FLAG(int, resume_s, 120, "how long a stream keeps trying to resume");

namespace mine {
namespace {

struct Outcome {
  std::string id;
  absl::Status status;
  int64_t acknowledged = 0;  // rows, from a successful Finish()
  int64_t counted = -1;      // samples_seen read afterwards
  int64_t reconnects = 0;
  absl::Duration longest_wait;  // between two estimates (or the stream's start)
};

v1::SessionConfig SmallConfig() {
  v1::SessionConfig config;
  config.set_x_dim(1);
  config.set_z_dim(1);
  config.add_hidden_units(16);
  config.set_batch_size(32);
  config.set_window_size(2048);
  return config;
}

bool Stopped() {
  const std::string path = absl::GetFlag(FLAGS_stop_file);
  struct stat st;
  return !path.empty() && ::stat(path.c_str(), &st) == 0;
}

void Stream(MineClient& client, absl::Time until, int index, Outcome* out) {
  absl::Mutex mu;
  absl::Time last = absl::Now();
  absl::Duration longest;
  SampleStreamWriter::Options options;
  options.batch_rows = absl::GetFlag(FLAGS_rows_per_batch);
  options.resume_for = absl::Seconds(absl::GetFlag(FLAGS_resume_s));
  options.on_estimate = [&](const v1::Estimate&) {
    absl::MutexLock lock(&mu);
    const absl::Time now = absl::Now();
    longest = std::max(longest, now - last);
    last = now;
  };
  absl::StatusOr<std::unique_ptr<SampleStreamWriter>> writer = client.OpenStream(out->id, options);
  if (!writer.ok()) {
    out->status = writer.status();
    return;
  }
  CorrelatedGaussian data(1, 0.8, Transform::kNone, 1000 + index);
  const int rows = absl::GetFlag(FLAGS_rows_per_batch);
  const absl::Duration tick = absl::Milliseconds(absl::GetFlag(FLAGS_tick_ms));
  absl::Time next_poll = absl::Now() + absl::Seconds(1);
  std::vector<float> x, z;
  while (absl::Now() < until && !Stopped()) {
    x.clear();
    z.clear();
    data.Fill(rows, &x, &z);
    if (absl::Status s = (*writer)->WriteRows(rows, x, z); !s.ok()) {
      out->status = s;
      return;
    }
    if (absl::Now() >= next_poll) {
      client.GetEstimate(out->id).IgnoreError();  // failures are the stream's to report
      next_poll = absl::Now() + absl::Seconds(1);
    }
    absl::SleepFor(tick);
  }
  absl::StatusOr<v1::Estimate> final_estimate = (*writer)->Finish();
  out->reconnects = (*writer)->reconnects();
  if (!final_estimate.ok()) {
    out->status = final_estimate.status();
    return;
  }
  out->acknowledged = (*writer)->rows_sent();
  absl::MutexLock lock(&mu);
  out->longest_wait = longest;
}

int Run() {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
  MineClientOptions options;
  options.max_attempts = 30;  // unary calls ride over a lease changing hands
  options.max_backoff = absl::Seconds(1);
  MineClient client(grpc::CreateCustomChannel(absl::GetFlag(FLAGS_target),
                                              grpc::InsecureChannelCredentials(), args),
                    options);
  const int n = absl::GetFlag(FLAGS_sessions);
  std::vector<Outcome> outcomes(n);
  for (int i = 0; i < n; ++i) {
    outcomes[i].id = absl::StrFormat("%s-%02d", absl::GetFlag(FLAGS_prefix), i);
    if (absl::StatusOr<v1::Session> s = client.CreateSession(outcomes[i].id, SmallConfig());
        !s.ok()) {
      std::fprintf(stderr, "create %s: %s\n", outcomes[i].id.c_str(), s.status().ToString().c_str());
      return 1;
    }
  }
  std::printf("streaming %d sessions (at most %d s)\n", n, absl::GetFlag(FLAGS_seconds));
  std::fflush(stdout);
  const absl::Time until = absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_seconds));
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] { Stream(client, until, i, &outcomes[i]); });
  }
  for (std::thread& t : threads) t.join();

  int64_t acknowledged = 0, counted = 0, reconnects = 0;
  absl::Duration longest;
  bool exact = true;
  for (Outcome& o : outcomes) {
    if (o.status.ok()) {
      absl::StatusOr<v1::Session> s = client.GetSession(o.id);
      if (s.ok()) o.counted = s->samples_seen();
      if (!s.ok()) o.status = s.status();
    }
    const bool same = o.status.ok() && o.counted == o.acknowledged;
    exact = exact && same;
    acknowledged += o.acknowledged;
    counted += std::max<int64_t>(o.counted, 0);
    reconnects += o.reconnects;
    longest = std::max(longest, o.longest_wait);
    std::printf("session %s acknowledged %lld counted %lld reconnects %lld longest_wait_s %.2f%s%s\n",
                o.id.c_str(), static_cast<long long>(o.acknowledged),
                static_cast<long long>(o.counted), static_cast<long long>(o.reconnects),
                absl::ToDoubleSeconds(o.longest_wait), same ? "" : "  MISMATCH ",
                o.status.ok() ? "" : o.status.ToString().c_str());
  }
  std::printf("total acknowledged %lld counted %lld reconnects %lld longest_wait_s %.2f %s\n",
              static_cast<long long>(acknowledged), static_cast<long long>(counted),
              static_cast<long long>(reconnects), absl::ToDoubleSeconds(longest),
              exact ? "EXACT" : "MISMATCH");
  return exact ? 0 : 1;
}

}  // namespace
}  // namespace mine

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return mine::Run();
}
