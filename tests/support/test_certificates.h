#ifndef TESTS_SUPPORT_TEST_CERTIFICATES_H_
#define TESTS_SUPPORT_TEST_CERTIFICATES_H_

// Certificates for TLS tests, made by openssl at test time in a directory of
// the caller's (per process: ctest runs test cases as parallel processes,
// which must not rewrite each other's files mid-handshake).
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"

namespace mine::testing_support {

// Writes into `dir` (ending in '/'): ca.pem, server.{pem,key} (SAN 127.0.0.1
// and localhost), client.{pem,key} signed by the CA, and other-ca.pem with
// rogue-client.{pem,key} signed by it. False when openssl failed.
inline bool MakeCertificates(const std::string& dir) {
  const std::string script = absl::StrCat(R"(set -e
mkdir -p ')", dir, R"(' && cd ')", dir, R"('
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() { key "$1.key"; openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 2 -subj "/CN=$1"; }
leaf() {  # name ca ext
  key "$1.key"
  openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$1"
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -out "$1.pem" \
    -days 2 -extfile "$1.ext" 2>/dev/null
}
ca ca; ca other-ca
leaf server ca "subjectAltName=IP:127.0.0.1,DNS:localhost"
leaf client ca "extendedKeyUsage=clientAuth"
leaf rogue-client other-ca "extendedKeyUsage=clientAuth"
)");
  const std::string path = absl::StrCat(dir.substr(0, dir.size() - 1), ".make_certs.sh");
  std::ofstream(path) << script;
  return std::system(absl::StrCat("sh '", path, "' >/dev/null 2>&1").c_str()) == 0;
}

}  // namespace mine::testing_support

#endif  // TESTS_SUPPORT_TEST_CERTIFICATES_H_
