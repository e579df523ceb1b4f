#!/usr/bin/env bash
# The benchmark suite in one command: builds what it needs, starts mine-server
# on a free port, measures speed over gRPC next to the Python reference, runs
# the accuracy sweep (C++ core, Python MINE, KSG on the same samples) and the
# staircase, and writes CSV/JSON and PNG plots into the results folder.
#
#   bench/run.sh --quick                 # ~3 min on 2 cores: 1 s timings, 3 seeds, N <= 5,000
#   bench/run.sh --out results/full      # ~20 min on 2 cores: 3 s timings, 5 seeds, N <= 20,000
#
# A benchmark, not a test: it fails only when something does not run.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
out=""
while (($#)); do
  case "$1" in
    --quick) quick=1 ;;
    --out) out="$2"; shift ;;
    *) echo "usage: bench/run.sh [--quick] [--out results/DIR]" >&2; exit 2 ;;
  esac
  shift
done
t_start=$(date +%s)
[[ -n "$out" ]] || out="results/$(date -u +%Y%m%d-%H%M%S)$([[ $quick == 1 ]] && echo -quick)"
mkdir -p "$out/samples"
out="$(cd "$out" && pwd)"

cpus=$(getconf _NPROCESSORS_ONLN)  # before OMP_NUM_THREADS=1, which GNU nproc obeys
py=/usr/bin/python3  # Debian's, with python3-torch/scipy/matplotlib (not a pyenv one)
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

if ! "$py" -c 'import torch, scipy, matplotlib' 2>/dev/null; then
  if [[ $(id -u) == 0 ]]; then scripts/install-deps.sh; else
    echo "bench/run.sh: needs python3-torch python3-scipy python3-matplotlib (scripts/install-deps.sh as root)" >&2
    exit 1
  fi
fi

build=${BUILD_DIR:-build}
[[ -f "$build/CMakeCache.txt" ]] || cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$cpus" --target mine-server mine-grpc-bench mine-matmul-ceiling \
  mine-accuracy-suite mine-step-profile >/dev/null

# Budgets (2 cores): quick ~3 min, full ~20 min. Accuracy runs are deterministic
# (exact 50-step slices, fixed seeds), so their numbers do not depend on the budget
# of the speed part or on the machine's load; only their duration does.
if ((quick)); then
  secs=1; warm=0.5; seeds=3; sizes=1000,2000,5000; infonce_sizes=2000
  steps=400; infonce_steps=100; stair_rows=1024; mm_secs=0.2; lat_secs=2; prof_secs=1
  prof_shapes=("256 20 128-128")
  cases_a="d1_rho0.9,d5_rho0.8,d1_rho0.9_cube,d1_indep"; cases_b="d20_rho0.5"
  estimators="MINE,MINE_F,SMILE,INFONCE"; stair_est="MINE,SMILE"; variant_cases=""
else
  secs=3; warm=1; seeds=5; sizes=1000,2000,5000,10000,20000; infonce_sizes=1000,5000,20000
  steps=1000; infonce_steps=200; stair_rows=5120; mm_secs=0.5; lat_secs=8; prof_secs=2
  prof_shapes=("64 2 100-100" "256 20 128-128" "1024 20 128-128")
  cases_a="d1_rho0.5,d1_rho0.9,d5_rho0.5,d5_rho0.8,d1_rho0.9_cube,d5_rho0.8_asinh,d1_indep"
  cases_b="d20_rho0.3,d20_rho0.5,d20_rho0.3_cdf,d20_indep"
  estimators="MINE,MINE_F,INFONCE,SMILE"; stair_est="MINE,MINE_F,INFONCE,SMILE"
  variant_cases="d1_rho0.9_cube,d5_rho0.8,d20_rho0.5"
fi
{
  echo "{"
  echo "  \"date_utc\": \"$(date -u +%FT%TZ)\","
  echo "  \"quick\": $quick,"
  echo "  \"nproc\": $cpus,"
  echo "  \"cpu\": \"$(lscpu | sed -n 's/^Model name: *//p' | head -1)\","
  echo "  \"simd\": \"$(grep -o -w -E 'avx512f|avx2|amx_tile' /proc/cpuinfo | sort -u | tr '\n' ' ' | sed 's/ $//')\","
  echo "  \"loadavg_at_start\": \"$(cut -d' ' -f1-3 /proc/loadavg)\","
  echo "  \"git\": \"$(git rev-parse --short HEAD 2>/dev/null || echo unknown)\","
  echo "  \"torch_python\": \"$("$py" -c 'import torch; print(torch.__version__)')\","
  echo "  \"blas\": \"$(readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu 2>/dev/null || echo unknown)\""
  echo "}"
} >"$out/machine.json"

log="$out/server.log"
"$build/server/mine-server" --port 0 --host 127.0.0.1 --state_dir= --metrics_port=0 >"$log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q 'listening on' "$log" && break; sleep 0.1; done
target="localhost:$(sed -n 's/.*listening on [^ ]*:\([0-9]*\) .*/\1/p' "$log")"
echo "bench: $(head -1 "$log")" >&2

bench() { "$build/bench/mine-grpc-bench" --target "$target" --seconds "$secs" --warmup_seconds "$warm" "$@"; }
echo "bench: speed (results in $out)" >&2
# Memory first, on the fresh server: later runs leave freed memory in the
# allocator, which new sessions would reuse without growing the RSS.
bench --mode memory --server_pid "$server_pid" --idle_sessions 100 >"$out/memory.csv"
bench --mode throughput >"$out/speed_server.csv"
"$py" bench/python/reference_mine.py speed --seconds "$secs" --out "$out/speed_python.csv" 2>/dev/null
"$build/bench/mine-matmul-ceiling" --seconds "$mm_secs" >"$out/matmul_ceiling.csv"
# Where the step's time goes, in process: minimal LibTorch loop, Trainer::Step, Session::RunSlice.
for shape in "${prof_shapes[@]}"; do
  set -- $shape
  "$build/bench/mine-step-profile" --batch "$1" --dim "$2" --hidden "$3" --seconds "$prof_secs"
done | awk 'NR == 1 || !/^batch/' >"$out/step_profile.csv"
bench --mode scaling >"$out/scaling.csv"
bench --mode ingest >"$out/ingest.csv"
bench --mode latency --seconds "$lat_secs" >"$out/latency.csv"
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
trap - EXIT

t_speed=$(date +%s)
echo "bench: speed part took $((t_speed - t_start)) s; accuracy (4 processes)" >&2
suite() { "$build/bench/mine-accuracy-suite" --out_dir "$out" --seeds "$seeds" --sizes "$sizes" \
  --max_steps "$steps" --infonce_max_steps "$infonce_steps" --infonce_sizes "$infonce_sizes" \
  --estimators "$estimators" "$@"; }
# The datasets first, so that the Python side can start at once on the same samples.
suite --cases "$cases_a,$cases_b" --sweep=false --staircase_estimators= 2>"$out/accuracy.log"
suite --cases "$cases_a" --export_samples=false --accuracy_csv accuracy_a.csv \
  --staircase_estimators= 2>>"$out/accuracy.log" &
pid_a=$!
suite --cases "$cases_b" --export_samples=false --accuracy_csv accuracy_b.csv \
  --staircase_estimators "$stair_est" --staircase_rows_per_level "$stair_rows" \
  --variant_cases "$variant_cases" 2>"$out/accuracy_b.log" &
pid_b=$!
side() { "$py" bench/python/side_by_side.py --out_dir "$out" --sizes "$sizes" --steps "$steps" \
  --part "$1" 2>"$out/accuracy_python_${1%/*}.log"; }
side 0/2 &
pid_p0=$!
side 1/2
wait "$pid_a" "$pid_b" "$pid_p0"
{ cat "$out/accuracy_a.csv"; tail -n +2 "$out/accuracy_b.csv"; } >"$out/accuracy.csv"
{ cat "$out/accuracy_python_0.csv"; tail -n +2 "$out/accuracy_python_1.csv"; } \
  >"$out/accuracy_python.csv"
rm "$out"/accuracy_{a,b}.csv "$out"/accuracy_python_{0,1}.csv
t_end=$(date +%s)
printf '{"speed_seconds": %d, "accuracy_seconds": %d, "total_seconds": %d, "loadavg_at_end": "%s"}\n' \
  "$((t_speed - t_start))" "$((t_end - t_speed))" "$((t_end - t_start))" \
  "$(cut -d' ' -f1-3 /proc/loadavg)" >"$out/duration.json"
"$py" bench/python/report.py --out_dir "$out"
echo "bench: done in $(( (t_end - t_start) / 60 )) min $(( (t_end - t_start) % 60 )) s: $out" >&2
