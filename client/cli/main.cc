// mine-cli: a command-line client of mine-server (sessions, CSV pushes and
// streams, estimates, watches, health) and a generator of samples with known
// mutual information. `mine-cli --help` lists everything.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/channel_factory.h"
#include "client/cli/commands.h"
#include "client/cli/exit_codes.h"

namespace {

constexpr char kUsage[] = R"(mine-cli: client of mine-server (streaming mutual-information estimation).

usage: mine-cli <command> [flags]

commands:
  create    create a session: --session ID --x-dim N --z-dim N [--estimator mine|mine_f|infonce|smile]
            [--hidden 64,64] [--learning-rate R] [--batch-size N] [--window N] [--holdout F]
            [--seed N] [--ema-rate R] [--smile-clip T] [--activation relu|elu|tanh]
            [--marginal shuffle_batch|window] [--input-normalization standardize|quantile]
            dependence alerts: [--alert-above NATS | --alert-below NATS] [--alert-hysteresis
            NATS] [--alert-change-k K] [--alert-reference N] (see README "Dependence alerts")
  get       show a session:             mine-cli get ID  (or --session ID)
  list      list all sessions
  delete    delete a session:           mine-cli delete ID
  estimate  print the latest estimate:  mine-cli estimate ID [--wait-converged SECONDS]
  watch     print each new estimate:    mine-cli watch ID [--interval-ms N] [--count N]
            [--until-alert]; after each estimate, the alerts it carries ("ALERT ..." lines,
            {"alert": KIND, ...} records); --until-alert exits 0 after the first alert
  health    grpc.health.v1 check:       mine-cli health [--service NAME]
  push      send a CSV/TSV file (or stdin, "-") with unary calls: mine-cli push FILE --session ID
            [--x-cols 0-4 --z-cols 5-9 | --x-cols a,b --z-cols c] [--batch-rows N] [--create
            + create flags] [--delimiter ,|tab] [--resume-s S]. The whole input is validated
            before anything is sent. Batches are numbered; when the server is unavailable
            (restart, kill -9) push and stream retry for up to --resume-s seconds (default
            60, 0 = fail at once) and resend only what the server had not acknowledged.
  stream    stream rows from stdin or FILE over one StreamSamples call, printing each estimate:
            same flags as push, plus --follow (keep reading a growing file) and --idle-exit S
            (with --follow: stop after S seconds without new data). A bad line stops the
            stream: only the complete --batch-rows batches before it were sent.
  gen       write CSV samples of correlated Gaussians with known MI: [--dim N] [--rho R | --mi
            NATS] [--transform none|cube|asinh|normal_cdf] [--rows N] [--seed N] [--out FILE]
            [--comment] [--no-header] [--delimiter ,|tab]; prints "# true MI <v> nats" on stderr.

global flags:
  --target HOST:PORT   server address (default localhost:50051)
  --timeout SECONDS    deadline of each call (default 10)
  --tls-ca FILE        verify the server with this PEM CA (turns TLS on)
  --tls-cert FILE      client certificate for mutual TLS (with --tls-key; turns TLS on)
  --tls-key FILE       private key of --tls-cert
  --tls                TLS with the system's CA roots
  --token TOKEN        bearer token (default: $MINE_TOKEN); sent as authorization metadata
  --output FORMAT      json (newline-delimited; default when stdout is not a TTY), csv or text
                       (default on a TTY: a live progress line while pushing or streaming)

CSV input: blank lines and lines starting with '#' are skipped; the first line is a header when
any field is not a number; without --x-cols/--z-cols the first half of the columns is x, the
second half z. Ragged rows, non-numeric or non-finite values and missing columns are rejected
with the line number.

exit codes:
  0  success
  2  usage error or bad input data (nothing, or only earlier complete batches, was sent)
  3  connection failure: server unreachable or too slow (UNAVAILABLE, DEADLINE_EXCEEDED)
  4  server error: the server refused or failed the call (NOT_FOUND, INVALID_ARGUMENT, ...)
)";

using Runner = int (*)(const mine::cli::CommandContext&);

const std::map<std::string, Runner>& Commands() {
  static const auto* commands = new std::map<std::string, Runner>{
      {"create", mine::cli::RunCreate}, {"get", mine::cli::RunGet},
      {"list", mine::cli::RunList},     {"delete", mine::cli::RunDelete},
      {"estimate", mine::cli::RunEstimate}, {"watch", mine::cli::RunWatch},
      {"health", mine::cli::RunHealth}, {"push", mine::cli::RunPush},
      {"stream", mine::cli::RunStream}, {"gen", mine::cli::RunGen},
  };
  return *commands;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace mine::cli;
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 ||
      std::strcmp(argv[1], "help") == 0) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? kExitUsage : kExitOk;
  }
  const std::string command = argv[1];
  auto it = Commands().find(command);
  if (it == Commands().end()) {
    return UsageError("", absl::StrCat("unknown command '", command, "'"));
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return kExitOk;
    }
  }
  std::set<std::string> known = FlagsOf(command);
  known.insert({"target", "timeout", "output", "tls-ca", "tls-cert", "tls-key", "tls", "token"});
  std::set<std::string> bool_flags = BoolFlagsOf(command);
  bool_flags.insert("tls");
  absl::StatusOr<CommandLine> flags = CommandLine::Parse(args, known, bool_flags);
  if (!flags.ok()) return UsageError(command, std::string(flags.status().message()));
  absl::StatusOr<double> timeout = flags->Double("timeout", 10);
  if (!timeout.ok() || *timeout <= 0) {
    return UsageError(command, "--timeout must be a number of seconds > 0");
  }
  absl::StatusOr<OutputFormat> format = OutputFormatter::ParseFormat(flags->String("output"));
  if (!format.ok()) return UsageError(command, std::string(format.status().message()));
  OutputFormatter out(*format);
  mine::ChannelOptions channel_options;
  channel_options.target = flags->String("target", "localhost:50051");
  channel_options.tls = flags->Bool("tls");
  channel_options.ca_file = flags->String("tls-ca");
  channel_options.cert_file = flags->String("tls-cert");
  channel_options.key_file = flags->String("tls-key");
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = mine::MakeChannel(channel_options);
  if (!channel.ok()) return UsageError(command, std::string(channel.status().message()));
  const char* env_token = std::getenv("MINE_TOKEN");
  CommandContext context{command, &*flags, channel_options.target, absl::Seconds(*timeout), &out,
                         *channel, flags->String("token", env_token == nullptr ? "" : env_token)};
  return it->second(context);
}
