#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs every
# test except those labelled `slow` (those belong to the benchmark suite).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd build
ctest --output-on-failure --label-exclude slow --timeout 600 -j "${MINE_TEST_JOBS:-2}"
