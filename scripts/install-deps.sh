#!/usr/bin/env bash
# Installs, from Debian bookworm's archive, every package minestream needs to
# build, run and test. Idempotent: installs only what is missing.
set -euo pipefail

packages=(
  g++ cmake make pkg-config
  libtorch-dev
  libopenblas0-pthread          # without it libtorch trains 10-25x slower
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev
  libgtest-dev libgmock-dev googletest
  libbenchmark-dev
  openssl                       # tests make TLS certificates at run time
  clang libclang-rt-14-dev      # the libFuzzer target (tests/, scripts/fuzz.sh)
  prometheus-cpp-dev            # mine-server metrics
  nginx                         # scale_out_test (grpc_pass + consistent hash), nginx -t of the k8s router
  python3 python3-grpcio python3-numpy
  python3-torch python3-scipy python3-matplotlib   # bench/: Python reference, KSG, plots
  python3-yaml                  # deploy/k8s/validate.sh: manifest checks
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# libtorch resolves BLAS through the libblas.so.3 alternative; make sure it
# points at OpenBLAS rather than the reference implementation.
openblas=/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3
if [[ -e "$openblas" ]]; then
  update-alternatives --set libblas.so.3-x86_64-linux-gnu "$openblas" >/dev/null 2>&1 || true
fi
