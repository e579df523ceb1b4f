#ifndef TESTS_SUPPORT_SERVER_PROCESS_H_
#define TESTS_SUPPORT_SERVER_PROCESS_H_

// A mine-server child process for end-to-end tests.
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"

extern char** environ;

namespace mine {

// The mine-server process; killed if a test fails before stopping it.
class ServerProcess {
 public:
  explicit ServerProcess(std::string path) : path_(std::move(path)) {}
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  ~ServerProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
  }

  // Starts mine-server and returns its first stdout line ("" on failure).
  std::string Start(const std::vector<std::string>& args) {
    if (out_ >= 0) close(out_);
    out_ = -1;
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) return "";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
    std::vector<char*> argv;
    std::string path = path_;
    argv.push_back(path.data());
    std::vector<std::string> copies = args;
    for (std::string& a : copies) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, path.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(pipe_fds[1]);
    out_ = pipe_fds[0];
    if (rc != 0) {
      pid_ = -1;
      return "";
    }
    // Read one line, waiting at most 60 s (LibTorch start-up can be slow).
    std::string line;
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline) {
      pollfd fd{out_, POLLIN, 0};
      if (poll(&fd, 1, 200) <= 0) continue;
      char c;
      if (read(out_, &c, 1) != 1) break;
      if (c == '\n') return line;
      line.push_back(c);
    }
    return line;
  }

  // SIGTERM, then the exit code (-1 if it did not exit within `timeout`).
  int Terminate(absl::Duration timeout) {
    kill(pid_, SIGTERM);
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    return -1;
  }

  // kill -9: no drain, no final checkpoint; waits for the process to go.
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  std::string path_;
  pid_t pid_ = -1;
  int out_ = -1;
};

}  // namespace mine

#endif  // TESTS_SUPPORT_SERVER_PROCESS_H_
