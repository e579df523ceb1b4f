// libFuzzer target over everything that decodes untrusted bytes into rows:
// a SampleBatch message as the server receives it, its validation against a
// session's dimensions, and the state-file readers (checkpoint framing, log
// records) that a damaged state dir feeds at start-up. Built and run by
// scripts/fuzz.sh (clang, -fsanitize=fuzzer,address,undefined).
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/stubs/logging.h"
#include "mine/v1/mine.pb.h"
#include "server/core/batch_validation.h"
#include "server/core/checkpoint_format.h"
#include "server/core/sample_log.h"

// Protobuf logs every invalid UTF-8 string it parses: silence it.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  mine::v1::SampleBatch batch;
  if (batch.ParseFromArray(data, static_cast<int>(size))) {
    // Dimensions from the first bytes, as a session config would give them.
    const int x_dim = size > 0 ? 1 + data[0] % 8 : 1;
    const int z_dim = size > 1 ? 1 + data[1] % 8 : 1;
    (void)mine::ValidateBatch(x_dim, z_dim, batch.x(), batch.z(), int64_t{1} << 20);
  }
  (void)mine::UnframeCheckpoint(bytes);
  mine::LogScan scan = mine::ScanLogRecords(bytes);
  for (const std::string& payload : scan.payloads) {
    mine::LogRecord record;
    (void)mine::SampleLog::DecodeRecord(payload, &record);
  }
  mine::LogRecord record;
  (void)mine::SampleLog::DecodeRecord(bytes, &record);
  // Framed, so that the scanner's happy path gets deep inputs too.
  (void)mine::ScanLogRecords(mine::FrameLogRecord(bytes) + std::string(bytes));
  return 0;
}
