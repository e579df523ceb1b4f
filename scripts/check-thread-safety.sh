#!/usr/bin/env bash
# Clang's static lock analysis over every file that takes a lock: each
# ABSL_GUARDED_BY field must be touched only with its mutex held. Needs
# clang++ (Debian: clang). Exits non-zero on any warning.
#
# Why not ThreadSanitizer alone: Debian's Abseil is not built with TSAN, so
# TSAN cannot see absl::Mutex and reports every lock-protected access as a
# race (docs/DEVELOPING.md).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -d "${BUILD_DIR:-build}/proto" ]] || { echo "run scripts/build.sh first (needs generated protos)" >&2; exit 2; }
status=0
for f in $(grep -l -E 'absl::Mutex|MutexLock' server/core/*.cc server/service/*.cc client/*.cc 2>/dev/null); do
  if ! clang++ -std=c++17 -fsyntax-only -Wthread-safety -Werror=thread-safety \
      -I. -I"${BUILD_DIR:-build}/proto" -I/usr/include/torch/csrc/api/include "$f"; then
    status=1
  fi
done
[[ $status == 0 ]] && echo "thread-safety analysis: clean"
exit $status
