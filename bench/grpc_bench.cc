// mine-grpc-bench: speed of a running mine-server, measured over gRPC with the
// C++ client. Prints CSV (one header line, then rows) on stdout; progress on
// stderr. A benchmark, not a test: it never fails on a figure.
//
//   mine-grpc-bench --target localhost:PORT --mode throughput --seconds 5
//   mine-grpc-bench --target localhost:PORT --mode memory --server_pid PID
//
// Modes (methods in docs/BENCHMARKS.md):
//   throughput  one session per (batch, dim, net): train_steps sampled from
//               GetSession over a fixed wall time, after a full window was pushed
//   scaling     aggregate steps/s of 1, 2, 4, 8 sessions on the server's workers
//   ingest      PushSamples / StreamSamples rows/s and MB/s; PushSamples to an
//               unknown session (the same bytes, answered NOT_FOUND) as transport
//   latency     batch sent -> first streamed Estimate with samples_seen covering it,
//               at 50% and 90% of the stream's measured ingest capacity
//   memory      server VmRSS per idle session and per session with a full window
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/mine_client.h"
#include "client/synthetic_data.h"
#include "grpcpp/grpcpp.h"

ABSL_FLAG(std::string, target, "localhost:50051", "mine-server address");
ABSL_FLAG(std::string, mode, "throughput", "throughput, scaling, ingest, latency or memory");
ABSL_FLAG(double, seconds, 5, "measuring time per configuration");
ABSL_FLAG(double, warmup_seconds, 1, "training time before measuring");
ABSL_FLAG(std::string, batches, "64,256,1024", "throughput: batch sizes");
ABSL_FLAG(std::string, dims, "2,20", "throughput: x_dim (= z_dim) values");
ABSL_FLAG(std::string, nets, "100-100,128-128", "throughput: hidden layers (ELU)");
ABSL_FLAG(std::string, sessions, "1,2,4,8", "scaling: session counts");
ABSL_FLAG(int, window, 32768, "throughput/scaling: window_size (and rows pushed)");
ABSL_FLAG(int, server_pid, 0, "memory: the server's pid (reads /proc/PID/status)");
ABSL_FLAG(int, idle_sessions, 20, "memory: idle sessions created");
ABSL_FLAG(int, full_sessions, 4, "memory: sessions given a full default window");

namespace {

using mine::v1::Estimate;
using mine::v1::SampleBatch;
using mine::v1::Session;
using mine::v1::SessionConfig;

std::vector<int> IntList(const std::string& text, char sep = ',') {
  std::vector<int> out;
  for (absl::string_view part : absl::StrSplit(text, sep, absl::SkipEmpty())) {
    int v = 0;
    if (absl::SimpleAtoi(part, &v)) out.push_back(v);
  }
  return out;
}

void Die(const absl::Status& status, const std::string& what) {
  std::fprintf(stderr, "mine-grpc-bench: %s: %s\n", what.c_str(), status.ToString().c_str());
  std::exit(1);
}

SessionConfig Config(int dim, int batch, const std::vector<int>& hidden, int window) {
  SessionConfig c;
  c.set_x_dim(dim);
  c.set_z_dim(dim);
  c.set_batch_size(batch);
  for (int h : hidden) c.add_hidden_units(h);
  c.set_activation(mine::v1::ELU);
  c.set_window_size(window);
  c.set_seed(1);
  return c;
}

SampleBatch MakeBatch(const std::string& id, mine::CorrelatedGaussian& gen, int64_t rows) {
  std::vector<float> x, z;
  gen.Fill(rows, &x, &z);
  SampleBatch b;
  b.set_session_id(id);
  *b.mutable_x() = {x.begin(), x.end()};
  *b.mutable_z() = {z.begin(), z.end()};
  return b;
}

// Pushes `rows` rows in messages of at most 4,096 rows, waiting while the
// session's ingest queue is full.
void PushRows(mine::MineClient& client, const std::string& id, mine::CorrelatedGaussian& gen,
              int64_t rows) {
  while (rows > 0) {
    const int64_t n = std::min<int64_t>(rows, 4096);
    SampleBatch b = MakeBatch(id, gen, n);
    for (;;) {
      auto r = client.PushSamples(b);
      if (r.ok()) break;
      if (r.status().code() != absl::StatusCode::kResourceExhausted) Die(r.status(), "PushSamples");
      absl::SleepFor(absl::Milliseconds(20));
    }
    rows -= n;
  }
}

int64_t Steps(mine::MineClient& client, const std::string& id) {
  auto s = client.GetSession(id);
  if (!s.ok()) Die(s.status(), "GetSession");
  return s->train_steps();
}

// Measures train_steps/s summed over `ids` over the configured wall time.
// Every 10 ms a CONVERGED session (training paused by design) gets
// batch_size fresh rows so that it resumes training (counted in `reopens`);
// the poll is short so that such pauses cost little of the measured time.
double MeasureSteps(mine::MineClient& client, const std::vector<std::string>& ids,
                    std::vector<mine::CorrelatedGaussian>& gens, int batch, int* reopens) {
  // Every pushed row applied first: applying rows (and the quantile refits
  // they trigger) is ingest work, not training.
  const absl::Time applied_by = absl::Now() + absl::Seconds(120);
  for (const auto& id : ids) {
    for (;;) {
      auto s = client.GetSession(id);
      if (!s.ok()) Die(s.status(), "GetSession");
      if (s->pending_rows() == 0 || absl::Now() > applied_by) break;
      absl::SleepFor(absl::Milliseconds(20));
    }
  }
  absl::SleepFor(absl::Seconds(absl::GetFlag(FLAGS_warmup_seconds)));
  auto total = [&] {
    int64_t t = 0;
    for (const auto& id : ids) t += Steps(client, id);
    return t;
  };
  const int64_t s0 = total();
  const absl::Time t0 = absl::Now();
  const absl::Time end = t0 + absl::Seconds(absl::GetFlag(FLAGS_seconds));
  *reopens = 0;
  while (absl::Now() < end) {
    absl::SleepFor(absl::Milliseconds(10));
    for (size_t i = 0; i < ids.size(); ++i) {
      auto s = client.GetSession(ids[i]);
      if (s.ok() && s->latest().state() == mine::v1::CONVERGED) {
        PushRows(client, ids[i], gens[i], batch);
        ++*reopens;
      }
    }
  }
  const int64_t s1 = total();
  return (s1 - s0) / absl::ToDoubleSeconds(absl::Now() - t0);
}

std::string NetName(const std::vector<int>& hidden) {
  std::string s;
  for (int h : hidden) s += (s.empty() ? "" : "-") + std::to_string(h);
  return s;
}

void Throughput(mine::MineClient& client) {
  std::printf("batch,dim,net,steps_per_s,rows_per_s,reopens\n");
  const int window = absl::GetFlag(FLAGS_window);
  int n = 0;
  for (const std::string& net : std::vector<std::string>(absl::StrSplit(absl::GetFlag(FLAGS_nets), ','))) {
    const std::vector<int> hidden = IntList(net, '-');
    for (int dim : IntList(absl::GetFlag(FLAGS_dims))) {
      for (int batch : IntList(absl::GetFlag(FLAGS_batches))) {
        const std::string id = absl::StrCat("tp", n++);
        auto created = client.CreateSession(id, Config(dim, batch, hidden, window));
        if (!created.ok()) Die(created.status(), "CreateSession");
        std::vector<mine::CorrelatedGaussian> gens;
        gens.emplace_back(dim, 0.8, mine::Transform::kNone, 7);
        PushRows(client, id, gens[0], window);
        int reopens = 0;
        const double sps = MeasureSteps(client, {id}, gens, batch, &reopens);
        std::printf("%d,%d,%s,%.1f,%.0f,%d\n", batch, dim, net.c_str(), sps, sps * batch, reopens);
        std::fflush(stdout);
        std::fprintf(stderr, "throughput batch %d dim %d net %s: %.1f steps/s\n", batch, dim,
                     net.c_str(), sps);
        (void)client.DeleteSession(id);
      }
    }
  }
}

void Scaling(mine::MineClient& client) {
  std::printf("sessions,steps_per_s,rows_per_s,steps_per_s_per_session,reopens\n");
  const int window = absl::GetFlag(FLAGS_window);
  const int dim = 20, batch = 256;
  int n = 0;
  for (int count : IntList(absl::GetFlag(FLAGS_sessions))) {
    std::vector<std::string> ids;
    std::vector<mine::CorrelatedGaussian> gens;
    for (int i = 0; i < count; ++i) {
      ids.push_back(absl::StrCat("sc", n++));
      auto created = client.CreateSession(ids.back(), Config(dim, batch, {128, 128}, window));
      if (!created.ok()) Die(created.status(), "CreateSession");
      gens.emplace_back(dim, 0.8, mine::Transform::kNone, 100 + i);
      PushRows(client, ids.back(), gens.back(), window);
    }
    int reopens = 0;
    const double sps = MeasureSteps(client, ids, gens, batch, &reopens);
    std::printf("%d,%.1f,%.0f,%.1f,%d\n", count, sps, sps * batch, sps / count, reopens);
    std::fflush(stdout);
    std::fprintf(stderr, "scaling %d sessions: %.1f steps/s\n", count, sps);
    for (const auto& id : ids) (void)client.DeleteSession(id);
  }
}

struct Rate {
  double rows_per_s;
  double mb_per_s;
};

// Sequential unary PushSamples of `rows`-row messages for the configured time.
// `expect_ok` false: the session does not exist and each call is NOT_FOUND
// after the server has received and parsed the whole message.
Rate PushRate(mine::MineClient& client, const std::string& id, int dim, int rows, bool expect_ok) {
  mine::CorrelatedGaussian gen(dim, 0.5, mine::Transform::kNone, 3);
  const SampleBatch b = MakeBatch(id, gen, rows);
  const double bytes = static_cast<double>(b.ByteSizeLong());
  int64_t sent = 0;
  const absl::Time t0 = absl::Now();
  const absl::Time end = t0 + absl::Seconds(absl::GetFlag(FLAGS_seconds));
  while (absl::Now() < end) {
    auto r = client.PushSamples(b);
    if (r.ok()) {
      ++sent;
    } else if (!expect_ok && r.status().code() == absl::StatusCode::kNotFound) {
      ++sent;
    } else if (r.status().code() == absl::StatusCode::kResourceExhausted) {
      absl::SleepFor(absl::Milliseconds(1));
    } else {
      Die(r.status(), "PushSamples");
    }
  }
  const double s = absl::ToDoubleSeconds(absl::Now() - t0);
  return {sent * rows / s, sent * bytes / s / 1e6};
}

Rate StreamRate(mine::MineClient& client, const std::string& id, int dim, int rows) {
  mine::CorrelatedGaussian gen(dim, 0.5, mine::Transform::kNone, 4);
  std::vector<float> x, z;
  gen.Fill(rows, &x, &z);
  SampleBatch probe = MakeBatch(id, gen, rows);
  const double bytes = static_cast<double>(probe.ByteSizeLong());
  mine::SampleStreamWriter::Options options;
  options.batch_rows = rows;
  auto writer = client.OpenStream(id, options);
  if (!writer.ok()) Die(writer.status(), "OpenStream");
  int64_t sent = 0;
  const absl::Time t0 = absl::Now();
  const absl::Time end = t0 + absl::Seconds(absl::GetFlag(FLAGS_seconds));
  while (absl::Now() < end) {
    absl::Status s = (*writer)->WriteRows(rows, x, z);
    if (!s.ok()) Die(s, "WriteRows");
    ++sent;
  }
  auto final_estimate = (*writer)->Finish();  // waits until every row is applied
  if (!final_estimate.ok()) Die(final_estimate.status(), "Finish");
  const double s = absl::ToDoubleSeconds(absl::Now() - t0);
  return {sent * rows / s, sent * bytes / s / 1e6};
}

void Ingest(mine::MineClient& client) {
  std::printf("method,dim,rows_per_message,rows_per_s,mb_per_s\n");
  int n = 0;
  for (int dim : {2, 20}) {
    for (int rows : {256, 4096}) {
      // A tiny net so that ingest, not training, is what is measured; the
      // two workers still train it between applying batches.
      auto make = [&] {
        const std::string id = absl::StrCat("in", n++);
        SessionConfig c = Config(dim, 64, {8}, 1 << 16);
        auto created = client.CreateSession(id, c);
        if (!created.ok()) Die(created.status(), "CreateSession");
        return id;
      };
      const Rate transport = PushRate(client, "no-such-session", dim, rows, false);
      std::printf("transport_only,%d,%d,%.0f,%.1f\n", dim, rows, transport.rows_per_s,
                  transport.mb_per_s);
      const std::string a = make();
      const Rate push = PushRate(client, a, dim, rows, true);
      std::printf("PushSamples,%d,%d,%.0f,%.1f\n", dim, rows, push.rows_per_s, push.mb_per_s);
      (void)client.DeleteSession(a);
      const std::string b = make();
      const Rate stream = StreamRate(client, b, dim, rows);
      std::printf("StreamSamples,%d,%d,%.0f,%.1f\n", dim, rows, stream.rows_per_s,
                  stream.mb_per_s);
      (void)client.DeleteSession(b);
      std::fflush(stdout);
      std::fprintf(stderr, "ingest dim %d rows %d: transport %.0f push %.0f stream %.0f rows/s\n",
                   dim, rows, transport.rows_per_s, push.rows_per_s, stream.rows_per_s);
    }
  }
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1) + 0.5));
  return v[i];
}

void Latency(mine::MineClient& client) {
  std::printf("load,rows_per_s,batches,p50_ms,p99_ms,max_ms\n");
  const int dim = 20, batch_rows = 256;
  // Capacity: the stream's full-speed rate into a default-net session.
  auto make = [&](const std::string& id) {
    auto created = client.CreateSession(id, Config(dim, 0, {}, 0));
    if (!created.ok()) Die(created.status(), "CreateSession");
  };
  make("lat-cap");
  const Rate capacity = StreamRate(client, "lat-cap", dim, batch_rows);
  (void)client.DeleteSession("lat-cap");
  std::printf("1.00,%.0f,0,,,\n", capacity.rows_per_s);
  for (double load : {0.5, 0.9}) {
    const std::string id = absl::StrCat("lat", static_cast<int>(load * 100));
    make(id);
    absl::Mutex mu;
    std::vector<std::pair<int64_t, absl::Time>> sent;  // cumulative rows, send time
    size_t matched = 0;
    std::vector<double> latencies_ms;
    mine::SampleStreamWriter::Options options;
    options.batch_rows = batch_rows;
    options.on_estimate = [&](const Estimate& e) {
      const absl::Time now = absl::Now();
      absl::MutexLock lock(&mu);
      while (matched < sent.size() && sent[matched].first <= e.samples_seen()) {
        latencies_ms.push_back(absl::ToDoubleMilliseconds(now - sent[matched].second));
        ++matched;
      }
    };
    auto writer = client.OpenStream(id, options);
    if (!writer.ok()) Die(writer.status(), "OpenStream");
    mine::CorrelatedGaussian gen(dim, 0.8, mine::Transform::kNone, 5);
    const double rate = load * capacity.rows_per_s;
    const absl::Duration gap = absl::Seconds(batch_rows / rate);
    const absl::Time t0 = absl::Now();
    const absl::Time end = t0 + absl::Seconds(absl::GetFlag(FLAGS_seconds));
    int64_t rows = 0;
    absl::Time next = t0;
    while (next < end) {
      absl::SleepFor(next - absl::Now());
      std::vector<float> x, z;
      gen.Fill(batch_rows, &x, &z);
      {
        absl::MutexLock lock(&mu);
        rows += batch_rows;
        sent.emplace_back(rows, absl::Now());
      }
      absl::Status s = (*writer)->WriteRows(batch_rows, x, z);
      if (!s.ok()) Die(s, "WriteRows");
      next += gap;
    }
    auto final_estimate = (*writer)->Finish();
    if (!final_estimate.ok()) Die(final_estimate.status(), "Finish");
    absl::MutexLock lock(&mu);
    std::printf("%.2f,%.0f,%zu,%.1f,%.1f,%.1f\n", load, rate, latencies_ms.size(),
                Percentile(latencies_ms, 0.5), Percentile(latencies_ms, 0.99),
                Percentile(latencies_ms, 1.0));
    std::fflush(stdout);
    std::fprintf(stderr, "latency at %.0f%%: p50 %.1f ms p99 %.1f ms (%zu of %zu batches)\n",
                 load * 100, Percentile(latencies_ms, 0.5), Percentile(latencies_ms, 0.99),
                 latencies_ms.size(), sent.size());
    (void)client.DeleteSession(id);
  }
}

double RssMb(int pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      double kb = 0;
      std::sscanf(line.c_str(), "VmRSS: %lf", &kb);
      return kb / 1024.0;
    }
  }
  return 0;
}

void Memory(mine::MineClient& client) {
  const int pid = absl::GetFlag(FLAGS_server_pid);
  if (pid <= 0) Die(absl::InvalidArgumentError("--server_pid is required"), "memory");
  std::printf("measure,dim,sessions,rss_before_mb,rss_after_mb,mb_per_session,sessions_in_24gb\n");
  const int dim = 20;
  const int idle = absl::GetFlag(FLAGS_idle_sessions);
  const double before = RssMb(pid);
  for (int i = 0; i < idle; ++i) {
    auto created = client.CreateSession(absl::StrCat("idle", i), Config(dim, 0, {}, 0));
    if (!created.ok()) Die(created.status(), "CreateSession");
  }
  absl::SleepFor(absl::Milliseconds(500));
  const double after_idle = RssMb(pid);
  const double per_idle = (after_idle - before) / idle;
  std::printf("idle,%d,%d,%.1f,%.1f,%.3f,%.0f\n", dim, idle, before, after_idle, per_idle,
              24 * 1024 / std::max(per_idle, 1e-3));
  const int full = absl::GetFlag(FLAGS_full_sessions);
  const int window = 65536;  // the default window_size
  for (int i = 0; i < full; ++i) {
    mine::CorrelatedGaussian gen(dim, 0.8, mine::Transform::kNone, 50 + i);
    PushRows(client, absl::StrCat("idle", i), gen, window);
  }
  // Wait until every row is in its window (pending_rows 0) and trained on.
  for (int i = 0; i < full; ++i) {
    for (int k = 0; k < 600; ++k) {
      auto s = client.GetSession(absl::StrCat("idle", i));
      if (s.ok() && s->pending_rows() == 0 && s->train_steps() > 0) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
  }
  absl::SleepFor(absl::Seconds(1));
  const double after_full = RssMb(pid);
  const double per_full = (after_full - after_idle) / full + per_idle;
  std::printf("full_window,%d,%d,%.1f,%.1f,%.3f,%.0f\n", dim, full, after_idle, after_full,
              per_full, 24 * 1024 / std::max(per_full, 1e-3));
  std::fflush(stdout);
  std::fprintf(stderr, "memory: %.2f MB per idle session, %.2f MB per full-window session\n",
               per_idle, per_full);
  for (int i = 0; i < idle; ++i) (void)client.DeleteSession(absl::StrCat("idle", i));
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  mine::MineClientOptions options;
  options.timeout = absl::Seconds(60);
  mine::MineClient client(grpc::CreateCustomChannel(absl::GetFlag(FLAGS_target),
                                                    grpc::InsecureChannelCredentials(), args),
                          options);
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode == "throughput") {
    Throughput(client);
  } else if (mode == "scaling") {
    Scaling(client);
  } else if (mode == "ingest") {
    Ingest(client);
  } else if (mode == "latency") {
    Latency(client);
  } else if (mode == "memory") {
    Memory(client);
  } else {
    Die(absl::InvalidArgumentError(mode), "unknown --mode");
  }
  return 0;
}
