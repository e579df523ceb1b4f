#!/bin/sh
# Builds the libFuzzer target tests/fuzz/batch_fuzzer.cc with clang and runs
# it for SECONDS (default 10; CI registers a 10 s run as the test
# batch_fuzzer). Needs build/ configured (for the generated mine.pb.cc).
#   scripts/fuzz.sh            # 10 s
#   scripts/fuzz.sh 600        # the longer documented run (docs/DEVELOPING.md)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${MINE_BUILD_DIR:-$root/build}
seconds=${1:-10}
out=$build/fuzz
mkdir -p "$out/corpus"
pb=$build/proto/mine/v1
if [ ! -f "$pb/mine.pb.cc" ]; then
  echo "fuzz.sh: $pb/mine.pb.cc is missing: build the mine_proto target first" >&2
  exit 2
fi
if [ ! -x "$out/batch_fuzzer" ] || [ -n "$(find "$root/tests/fuzz" "$root/server/core" -newer "$out/batch_fuzzer" -name '*.cc' -o -newer "$out/batch_fuzzer" -name '*.h' | head -1)" ]; then
  # shellcheck disable=SC2046
  clang++ -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$root" -I"$build/proto" \
    "$root/tests/fuzz/batch_fuzzer.cc" "$pb/mine.pb.cc" \
    "$root/server/core/batch_validation.cc" "$root/server/core/checkpoint_format.cc" \
    "$root/server/core/sample_log.cc" "$root/server/core/internal/file_util.cc" \
    $(pkg-config --cflags --libs protobuf absl_status absl_statusor absl_strings absl_str_format absl_time absl_synchronization) \
    -o "$out/batch_fuzzer"
fi
exec "$out/batch_fuzzer" -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 "$out/corpus"
