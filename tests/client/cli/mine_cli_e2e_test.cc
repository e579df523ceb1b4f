// mine-cli end to end: starts mine-server (--port 0) and runs the mine-cli
// binary through a shell, checking stdout, stderr and exit codes.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/server_process.h"
#include "tests/support/test_certificates.h"

namespace mine {
namespace {

using ::testing::HasSubstr;

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/mine_cli_e2e_", getpid(), "_", name);
}

// Runs `command` with sh; captures stdout and stderr.
Result RunShell(const std::string& command) {
  const std::string out = TempPath("stdout"), err = TempPath("stderr");
  const int status = std::system(absl::StrCat(command, " >", out, " 2>", err).c_str());
  Result result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = ReadFile(out);
  result.err = ReadFile(err);
  return result;
}

// A JSON number field of a flat one-line object (the CLI's own output).
double JsonNumber(const std::string& json, const std::string& field) {
  const std::string key = absl::StrCat("\"", field, "\":");
  const size_t at = json.rfind(key);
  if (at == std::string::npos) return -1e300;
  double value = 0;
  const size_t start = at + key.size();
  const size_t end = json.find_first_of(",}", start);
  return absl::SimpleAtod(json.substr(start, end - start), &value) ? value : -1e300;
}

class MineCliE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string out = TempPath("server_out");
    // The server writes its address line, then serves until SIGTERM.
    FILE* pipe = popen(absl::StrCat("exec ", MINE_SERVER_PATH,
                                    " --host=127.0.0.1 --port=0 --workers=2",
                                    " --state_dir= --metrics_port=0 & echo $!")
                           .c_str(),
                       "r");
    ASSERT_NE(pipe, nullptr);
    server_pipe_ = pipe;
    char line[512];
    ASSERT_NE(fgets(line, sizeof(line), pipe), nullptr);
    server_pid_ = std::atoi(line);
    ASSERT_NE(fgets(line, sizeof(line), pipe), nullptr);  // "mine-server listening on ..."
    const std::string listening = line;
    const std::string prefix = "mine-server listening on ";
    ASSERT_EQ(listening.rfind(prefix, 0), 0u) << listening;
    target_ = listening.substr(prefix.size(), listening.find(' ', prefix.size()) - prefix.size());
  }
  static void TearDownTestSuite() {
    if (server_pid_ > 0) kill(server_pid_, SIGTERM);
    if (server_pipe_ != nullptr) pclose(server_pipe_);
  }

  static Result Cli(const std::string& args) {
    return RunShell(absl::StrCat(MINE_CLI_PATH, " ", args, " --target ", target_));
  }

  static int64_t SamplesSeen(const std::string& session) {
    Result got = Cli(absl::StrCat("get ", session, " --output json"));
    EXPECT_EQ(got.exit_code, 0) << got.err;
    return static_cast<int64_t>(JsonNumber(got.out, "samples_seen"));
  }

  static inline FILE* server_pipe_ = nullptr;
  static inline int server_pid_ = -1;
  static inline std::string target_;
};

constexpr char kSmall[] = "--hidden 32,32 --batch-size 64 --window 8192 --seed 3";

TEST_F(MineCliE2eTest, GenPushEstimateMatchesThePrintedTruth) {
  const std::string csv = TempPath("gauss.csv");
  Result gen = RunShell(absl::StrCat(MINE_CLI_PATH, " gen --dim 1 --mi 1 --rows 20000 --seed 11 --out ",
                                csv));
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  // "# true MI 1.0000 nats (...)"
  double truth = 0;
  ASSERT_EQ(gen.err.rfind("# true MI ", 0), 0u) << gen.err;
  std::vector<std::string> words = absl::StrSplit(gen.err, ' ');
  ASSERT_GE(words.size(), 5u) << gen.err;
  ASSERT_TRUE(absl::SimpleAtod(words[3], &truth)) << gen.err;
  EXPECT_EQ(words[4], "nats");
  EXPECT_DOUBLE_EQ(truth, 1.0);

  Result push = Cli(absl::StrCat("push ", csv, " --create --session gauss --batch-rows 2000 ",
                                 kSmall, " --output json"));
  ASSERT_EQ(push.exit_code, 0) << push.err;
  EXPECT_EQ(SamplesSeen("gauss"), 20000);

  Result estimate = Cli("estimate gauss --wait-converged 90 --output json");
  ASSERT_EQ(estimate.exit_code, 0) << estimate.err;
  const double mi = JsonNumber(estimate.out, "mi_nats");
  std::printf("estimate %s", estimate.out.c_str());
  // Tolerance 0.25 nats: ~4,000 held-out rows give a standard error of about
  // 0.04 nats, and a 32-32 net is biased low (DV is a lower bound).
  EXPECT_NEAR(mi, truth, 0.25) << estimate.out;
  EXPECT_NEAR(JsonNumber(estimate.out, "mi_bits"), mi / std::log(2.0), 1e-4);
}

TEST_F(MineCliE2eTest, StreamSendsEveryRowAndPrintsEstimates) {
  Result stream = RunShell(absl::StrCat(MINE_CLI_PATH, " gen --dim 2 --rho 0.5 --rows 3000 | ",
                                   MINE_CLI_PATH, " stream --create --session streamed ", kSmall,
                                   " --batch-rows 256 --output json --target ", target_));
  ASSERT_EQ(stream.exit_code, 0) << stream.err;
  std::vector<std::string> lines = absl::StrSplit(stream.out, '\n', absl::SkipEmpty());
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(JsonNumber(lines.back(), "samples_seen"), 3000);
}

TEST_F(MineCliE2eTest, StreamFollowsAGrowingFile) {
  const std::string path = TempPath("growing.csv");
  const std::string more = TempPath("more.csv");
  ASSERT_EQ(RunShell(absl::StrCat(MINE_CLI_PATH, " gen --rows 500 --seed 1 --out ", path)).exit_code, 0);
  ASSERT_EQ(RunShell(absl::StrCat(MINE_CLI_PATH, " gen --rows 700 --seed 2 --no-header --out ", more))
                .exit_code,
            0);
  // The file grows while the stream runs; --idle-exit ends it once the
  // appended rows are in (or all of them at once if it starts late).
  Result stream = RunShell(absl::StrCat(
      "{ ", MINE_CLI_PATH, " stream ", path, " --follow --idle-exit 1.5 --create --session follow ",
      kSmall, " --batch-rows 100 --output json --target ", target_, " & sleep 0.3; cat ", more,
      " >> ", path, "; wait $!; }"));
  ASSERT_EQ(stream.exit_code, 0) << stream.err;
  std::vector<std::string> lines = absl::StrSplit(stream.out, '\n', absl::SkipEmpty());
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(JsonNumber(lines.back(), "samples_seen"), 1200);
}

TEST_F(MineCliE2eTest, BadCreateFlagsAreUsageErrorsBeforeAnythingIsSent) {
  const std::string path = TempPath("flags.csv");
  std::ofstream(path) << "1,2\n3,4\n";
  Result hidden = Cli(absl::StrCat("push ", path, " --create --session flags --hidden 3x"));
  EXPECT_EQ(hidden.exit_code, 2);
  EXPECT_THAT(hidden.err, HasSubstr("--hidden"));
  Result dims = Cli(absl::StrCat("push ", path, " --create --session flags --x-dim 4"));
  EXPECT_EQ(dims.exit_code, 2);
  EXPECT_THAT(dims.err, HasSubstr("--x-dim 4 disagrees"));
  EXPECT_EQ(Cli("get flags").exit_code, 4);  // never created
}

// rho 0.8, d = 1: true MI 0.51 nats, so the estimate crosses 0.1 once.
TEST_F(MineCliE2eTest, CreateTakesAlertFlagsAndWatchPrintsTheAlert) {
  Result create = Cli(absl::StrCat("create --session alerting --x-dim 1 --z-dim 1 ", kSmall,
                                   " --alert-above 0.1 --alert-hysteresis 0.09"
                                   " --alert-change-k 8 --output json"));
  ASSERT_EQ(create.exit_code, 0) << create.err;
  const std::string csv = TempPath("alerting.csv");
  ASSERT_EQ(RunShell(absl::StrCat(MINE_CLI_PATH, " gen --dim 1 --rho 0.8 --rows 6000 --seed 4 --out ",
                                  csv))
                .exit_code,
            0);
  // The watcher subscribes first (its first line is the current estimate),
  // then the rows go in; --until-alert ends it at the first alert.
  const std::string watched = TempPath("watched.jsonl");
  Result run = RunShell(absl::StrCat(
      "{ timeout 120 ", MINE_CLI_PATH, " watch alerting --until-alert --interval-ms 0 --output json",
      " --target ", target_, " > ", watched, " & until [ -s ", watched,
      " ]; do sleep 0.05; done; ", MINE_CLI_PATH, " push ", csv,
      " --session alerting --output json --target ", target_, " > /dev/null; wait $!; }"));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string out = ReadFile(watched);
  EXPECT_THAT(out, HasSubstr("{\"alert\":\"THRESHOLD_FIRING\",\"session_id\":\"alerting\""));
  EXPECT_THAT(out, HasSubstr("is above the threshold 0.1"));
  Result got = Cli("get alerting --output json");
  EXPECT_GE(JsonNumber(got.out, "alerts_total"), 1) << got.out;

  Result both = Cli("create --session bad --x-dim 1 --z-dim 1 --alert-above 1 --alert-below 2");
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_THAT(both.err, HasSubstr("--alert-above and --alert-below"));
  Result negative = Cli("create --session bad --x-dim 1 --z-dim 1 --alert-below 0.2"
                        " --alert-hysteresis -1");
  EXPECT_EQ(negative.exit_code, 4);  // refused by the server
  EXPECT_THAT(negative.err, HasSubstr("config.alert_rules.threshold.hysteresis_nats"));
}

TEST_F(MineCliE2eTest, StreamStopsAtABadLineAfterEarlierCompleteBatches) {
  // 25 good rows, then text on line 27 (line 1 is the header).
  std::string csv = "x,z\n";
  for (int i = 0; i < 25; ++i) csv += absl::StrCat(i, ",", i * 0.5, "\n");
  csv += "1,oops\n3,4\n";
  const std::string path = TempPath("stream_bad.csv");
  std::ofstream(path) << csv;
  ASSERT_EQ(Cli("create --session partial --x-dim 1 --z-dim 1 --output json").exit_code, 0);
  Result stream = Cli(absl::StrCat("stream ", path, " --session partial --batch-rows 10"));
  EXPECT_EQ(stream.exit_code, 2);
  EXPECT_THAT(stream.err, HasSubstr("line 27"));
  EXPECT_EQ(SamplesSeen("partial"), 20);  // two complete batches of 10
}

struct BadCsvCase {
  const char* name;
  const char* csv;
  const char* cols;
  const char* expected;
};

TEST_F(MineCliE2eTest, BadCsvIsRejectedWithTheLineNumberAndNothingIsSent) {
  const BadCsvCase cases[] = {
      {"ragged", "a,b\n1,2\n3,4\n5\n", "", "line 4: ragged row"},
      {"text", "a,b\n1,2\n3,four\n5,6\n", "", "line 3, column 1 ('b')"},
      {"missing", "1,2\n3,4\n", "--x-cols 0 --z-cols 2", "line 1: --z-cols: column 2"},
      {"unknown-name", "a,b\n1,2\n", "--x-cols a --z-cols c", "no column named 'c'"},
  };
  for (const BadCsvCase& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string session = absl::StrCat("bad-", c.name);
    const std::string path = TempPath(absl::StrCat(c.name, ".csv"));
    std::ofstream(path) << c.csv;
    ASSERT_EQ(Cli(absl::StrCat("create --session ", session, " --x-dim 1 --z-dim 1")).exit_code, 0);
    Result push = Cli(absl::StrCat("push ", path, " --session ", session, " ", c.cols,
                                   " --batch-rows 1"));
    EXPECT_EQ(push.exit_code, 2);
    EXPECT_THAT(push.err, HasSubstr(c.expected));
    EXPECT_EQ(std::count(push.err.begin(), push.err.end(), '\n'), 1) << push.err;
    EXPECT_EQ(SamplesSeen(session), 0);
  }
}

TEST_F(MineCliE2eTest, ExitCodesSeparateUsageConnectionAndServerErrors) {
  EXPECT_EQ(Cli("get").exit_code, 2);
  EXPECT_EQ(Cli("list --no-such-flag 1").exit_code, 2);
  EXPECT_EQ(RunShell(absl::StrCat(MINE_CLI_PATH, " frobnicate")).exit_code, 2);
  Result unreachable = RunShell(absl::StrCat(MINE_CLI_PATH, " list --target 127.0.0.1:1 --timeout 1"));
  EXPECT_EQ(unreachable.exit_code, 3);
  EXPECT_THAT(unreachable.err, HasSubstr("is mine-server running at 127.0.0.1:1"));
  Result missing = Cli("get no-such-session");
  EXPECT_EQ(missing.exit_code, 4);
  EXPECT_THAT(missing.err, HasSubstr("NOT_FOUND"));
  Result health = Cli("health --output json");
  EXPECT_EQ(health.exit_code, 0) << health.err;
  EXPECT_THAT(health.out, HasSubstr("SERVING"));
  Result help = RunShell(absl::StrCat(MINE_CLI_PATH, " --help"));
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("exit codes"));
}

TEST_F(MineCliE2eTest, ListAndDelete) {
  Result created = Cli(
      "create --session to-delete --x-dim 2 --z-dim 3 --estimator mine_f --hidden 16,8 "
      "--activation tanh --input-normalization standardize --output json");
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_THAT(created.out, HasSubstr("\"estimator\":\"MINE_F\""));
  EXPECT_THAT(created.out, HasSubstr("\"hidden_units\":[16,8]"));
  EXPECT_THAT(created.out, HasSubstr("\"activation\":\"TANH\""));
  EXPECT_THAT(created.out, HasSubstr("\"input_normalization\":\"STANDARDIZE\""));
  Result list = Cli("list --output csv");
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("to-delete,2,3,MINE_F,16;8"));
  EXPECT_EQ(Cli("delete to-delete").exit_code, 0);
  EXPECT_EQ(Cli("get to-delete").exit_code, 4);
}

// mine-cli against mine-server over TLS (--tls_cert/--tls_key) and mutual TLS
// (plus --tls_client_ca), with certificates openssl makes for this process.
class MineCliTlsE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    certificates_ok_ = testing_support::MakeCertificates(Dir());
    if (!certificates_ok_) return;
    tls_target_ = Start(&tls_, "");
    mtls_target_ = Start(&mtls_, Dir() + "ca.pem");
  }
  static void TearDownTestSuite() {
    for (ServerProcess* server : {tls_, mtls_}) {
      if (server != nullptr) server->Terminate(absl::Seconds(30));
      delete server;
    }
  }
  void SetUp() override {
    ASSERT_TRUE(certificates_ok_) << "openssl failed";
    ASSERT_FALSE(tls_target_.empty());
    ASSERT_FALSE(mtls_target_.empty());
  }

  static std::string Dir() { return TempPath("certs/"); }

  // Starts mine-server with TLS (and a client CA, for mutual TLS); its target.
  static std::string Start(ServerProcess** server, const std::string& client_ca) {
    *server = new ServerProcess(MINE_SERVER_PATH);
    const std::string line = (*server)->Start(
        {"--host=127.0.0.1", "--port=0", "--workers=1", "--state_dir=", "--metrics_port=0",
         "--tls_cert=" + Dir() + "server.pem", "--tls_key=" + Dir() + "server.key",
         "--tls_client_ca=" + client_ca});
    const std::string prefix = "mine-server listening on ";
    if (line.rfind(prefix, 0) != 0) return "";
    return line.substr(prefix.size(), line.find(' ', prefix.size()) - prefix.size());
  }

  // mine-cli `args` against `target`, trusting the CA `ca` ("" for none).
  static Result Cli(const std::string& target, const std::string& ca, const std::string& args) {
    return RunShell(absl::StrCat(MINE_CLI_PATH, " ", args, " --target ", target,
                                 ca.empty() ? "" : absl::StrCat(" --tls-ca ", Dir(), ca)));
  }
  static std::string ClientCert(const std::string& name) {
    return absl::StrCat(" --tls-cert ", Dir(), name, ".pem --tls-key ", Dir(), name, ".key");
  }

  static inline bool certificates_ok_ = false;
  static inline ServerProcess* tls_ = nullptr;
  static inline ServerProcess* mtls_ = nullptr;
  static inline std::string tls_target_;
  static inline std::string mtls_target_;
};

TEST_F(MineCliTlsE2eTest, TlsWithTheServersCaWorks) {
  Result create = Cli(tls_target_, "ca.pem", "create --session tls1 --x-dim 1 --z-dim 1");
  ASSERT_EQ(create.exit_code, 0) << create.err;
  Result list = Cli(tls_target_, "ca.pem", "list --output json");
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("\"session_id\":\"tls1\""));
}

TEST_F(MineCliTlsE2eTest, AServerAnotherCaSignedIsRefusedWithAClearError) {
  Result wrong = Cli(tls_target_, "other-ca.pem", "list");
  EXPECT_EQ(wrong.exit_code, 3) << wrong.err;
  EXPECT_THAT(wrong.err, HasSubstr("TLS handshake"));
  EXPECT_THAT(wrong.err, HasSubstr("--tls-ca"));
  Result plaintext = Cli(tls_target_, "", "list");
  EXPECT_EQ(plaintext.exit_code, 3) << plaintext.err;
}

TEST_F(MineCliTlsE2eTest, MutualTlsNeedsAClientCertificateTheServersCaSigned) {
  Result good = Cli(mtls_target_, "ca.pem", "list" + ClientCert("client"));
  EXPECT_EQ(good.exit_code, 0) << good.err;
  Result none = Cli(mtls_target_, "ca.pem", "list");
  EXPECT_EQ(none.exit_code, 3) << none.err;
  EXPECT_THAT(none.err, HasSubstr("UNAVAILABLE"));
  Result rogue = Cli(mtls_target_, "ca.pem", "list" + ClientCert("rogue-client"));
  EXPECT_EQ(rogue.exit_code, 3) << rogue.err;
  Result missing = Cli(mtls_target_, "ca.pem", "list --tls-cert " + Dir() + "client.pem");
  EXPECT_EQ(missing.exit_code, 2) << missing.err;  // a usage error: nothing was sent
  EXPECT_THAT(missing.err, HasSubstr("its key go together"));
}

}  // namespace
}  // namespace mine
