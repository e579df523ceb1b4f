#!/usr/bin/env bash
# Configures and builds minestream into ./build (Release). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${MINE_BUILD_JOBS:-$(nproc)}
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j "$jobs"
