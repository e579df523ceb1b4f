#ifndef SERVER_CORE_INTERNAL_BYTE_IO_H_
#define SERVER_CORE_INTERNAL_BYTE_IO_H_

// Little helpers that write and read the fields of checkpoints and log
// records: fixed-width integers and doubles in host byte order (state files
// are read back by the same build on the same machine), length-prefixed
// strings and float arrays. The reader never reads past its input: every
// getter returns false on a short or implausible field.

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace mine::internal {

class ByteWriter {
 public:
  void U32(uint32_t v) { Raw(&v, sizeof v); }
  void U64(uint64_t v) { Raw(&v, sizeof v); }
  void I64(int64_t v) { Raw(&v, sizeof v); }
  void F64(double v) { Raw(&v, sizeof v); }
  void Bool(bool v) { U32(v ? 1 : 0); }
  void Str(absl::string_view s) {
    U64(s.size());
    out_.append(s.data(), s.size());
  }
  void Floats(const float* data, int64_t n) {
    U64(static_cast<uint64_t>(n));
    Raw(data, static_cast<size_t>(n) * sizeof(float));
  }
  void Doubles(const std::vector<double>& v) {
    U64(v.size());
    Raw(v.data(), v.size() * sizeof(double));
  }
  std::string& bytes() { return out_; }

 private:
  void Raw(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
  std::string out_;
};

class ByteReader {
 public:
  explicit ByteReader(absl::string_view in) : in_(in) {}

  bool U32(uint32_t* v) { return Raw(v, sizeof *v); }
  bool U64(uint64_t* v) { return Raw(v, sizeof *v); }
  bool I64(int64_t* v) { return Raw(v, sizeof *v); }
  bool F64(double* v) { return Raw(v, sizeof *v); }
  bool Int(int* v) {
    int64_t wide;
    if (!I64(&wide) || wide < INT32_MIN || wide > INT32_MAX) return false;
    *v = static_cast<int>(wide);
    return true;
  }
  bool Bool(bool* v) {
    uint32_t u;
    if (!U32(&u) || u > 1) return false;
    *v = u == 1;
    return true;
  }
  bool Str(std::string* s) {
    uint64_t n;
    if (!U64(&n) || n > in_.size()) return false;
    s->assign(in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  bool Floats(std::vector<float>* v) { return Array(v); }
  bool Doubles(std::vector<double>* v) { return Array(v); }
  bool done() const { return in_.empty(); }

 private:
  template <typename T>
  bool Array(std::vector<T>* v) {
    uint64_t n;
    if (!U64(&n) || n > in_.size() / sizeof(T)) return false;
    v->resize(n);
    return Raw(v->data(), n * sizeof(T));
  }
  bool Raw(void* p, size_t n) {
    if (n > in_.size()) return false;
    if (n > 0) std::memcpy(p, in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  absl::string_view in_;
};

}  // namespace mine::internal

#endif  // SERVER_CORE_INTERNAL_BYTE_IO_H_
