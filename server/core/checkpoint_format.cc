#include "server/core/checkpoint_format.h"

#include <array>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/core/internal/byte_io.h"

namespace mine {
namespace {

constexpr char kCheckpointMagic[] = "MINECKPT";  // 8 bytes, without the NUL
constexpr uint32_t kLogMagic = 0x4D4C4F47;
constexpr size_t kLogHeaderBytes = 4 + 8 + 4;

std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}

}  // namespace

uint32_t Crc32(absl::string_view data) {
  static const std::array<uint32_t, 256> table = MakeCrcTable();
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data) c = table[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::string FrameCheckpoint(absl::string_view payload) {
  internal::ByteWriter w;
  w.bytes().append(kCheckpointMagic, 8);
  w.U32(kCheckpointFormatVersion);
  w.U64(payload.size());
  w.U32(Crc32(payload));
  w.bytes().append(payload.data(), payload.size());
  return std::move(w.bytes());
}

absl::StatusOr<std::string> UnframeCheckpoint(absl::string_view file) {
  if (file.size() < 8 || file.substr(0, 8) != absl::string_view(kCheckpointMagic, 8)) {
    return absl::DataLossError("not a mine checkpoint (bad magic)");
  }
  internal::ByteReader r(file.substr(8));
  uint32_t version, crc;
  uint64_t size;
  if (!r.U32(&version) || !r.U64(&size) || !r.U32(&crc)) {
    return absl::DataLossError("checkpoint header is truncated");
  }
  if (version != kCheckpointFormatVersion) {
    return absl::DataLossError(absl::StrCat("checkpoint format version ", version,
                                            " is not supported (this build reads ",
                                            kCheckpointFormatVersion, ")"));
  }
  const size_t header = 8 + 4 + 8 + 4;
  if (size != file.size() - header) {
    return absl::DataLossError(absl::StrCat("checkpoint is truncated or has trailing bytes: ",
                                            file.size() - header, " payload bytes, header says ",
                                            size));
  }
  absl::string_view payload = file.substr(header);
  if (Crc32(payload) != crc) return absl::DataLossError("checkpoint checksum mismatch");
  return std::string(payload);
}

std::string FrameLogRecord(absl::string_view payload) {
  internal::ByteWriter w;
  w.U32(kLogMagic);
  w.U64(payload.size());
  w.U32(Crc32(payload));
  w.bytes().append(payload.data(), payload.size());
  return std::move(w.bytes());
}

LogScan ScanLogRecords(absl::string_view file) {
  LogScan scan;
  size_t at = 0;
  while (at < file.size()) {
    internal::ByteReader r(file.substr(at));
    uint32_t magic, crc;
    uint64_t size;
    if (!r.U32(&magic) || !r.U64(&size) || !r.U32(&crc)) {
      scan.error = absl::StrCat("truncated record header at byte ", at);
      break;
    }
    if (magic != kLogMagic) {
      scan.error = absl::StrCat("bad record magic at byte ", at);
      break;
    }
    if (size > file.size() - at - kLogHeaderBytes) {
      scan.error = absl::StrCat("truncated record at byte ", at);
      break;
    }
    absl::string_view payload = file.substr(at + kLogHeaderBytes, size);
    if (Crc32(payload) != crc) {
      scan.error = absl::StrCat("checksum mismatch in the record at byte ", at);
      break;
    }
    scan.payloads.emplace_back(payload);
    at += kLogHeaderBytes + size;
  }
  scan.valid_bytes = static_cast<int64_t>(at);
  return scan;
}

}  // namespace mine
