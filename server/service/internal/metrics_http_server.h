#ifndef SERVER_SERVICE_INTERNAL_METRICS_HTTP_SERVER_H_
#define SERVER_SERVICE_INTERNAL_METRICS_HTTP_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace mine::internal {

// A minimal HTTP/1.0 server for Prometheus scrapes: every GET gets 200 and
// the text `body()` returns (text format 0.0.4), then the connection closes.
// One thread, one connection at a time, each with a 5 s I/O timeout.
// prometheus-cpp's civetweb Exposer cannot start in a process that has
// loaded Debian's libtorch_cpu ("null context when constructing
// CivetServer"), hence this. Thread-safe; stops in the destructor.
class MetricsHttpServer {
 public:
  // Listens on host:port (port 0: any free one).
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      const std::string& host, int port, std::function<std::string()> body);
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  int port() const { return port_; }

 private:
  MetricsHttpServer(int fd, int port, std::function<std::string()> body);
  void Serve();

  const int fd_;
  const int port_;
  const std::function<std::string()> body_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace mine::internal

#endif  // SERVER_SERVICE_INTERNAL_METRICS_HTTP_SERVER_H_
