#!/usr/bin/env bash
# The README's run command: installs what is missing, builds, starts
# mine-server on its embedded defaults, streams a correlated Gaussian with
# known MI through mine-cli, and prints the running estimate beside the truth.
#
#   scripts/run.sh                       # d=2, rho=0.8: 1.02 nats
#   DIM=5 RHO=0.5 ROWS=50000 scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh >/dev/null

dim=${DIM:-2}
rho=${RHO:-0.8}
rows=${ROWS:-30000}
cli=build/client/cli/mine-cli
log=$(mktemp)
state=$(mktemp -d)  # a fresh state dir: the demo starts from no sessions every time
build/server/mine-server --port "${MINE_PORT:-0}" --state_dir "$state" >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null; rm -rf "$log" "$state"' EXIT
for _ in $(seq 100); do grep -q 'listening on' "$log" && break; sleep 0.1; done
cat "$log"
target="localhost:$(grep -o 'listening on [^ ]*' "$log" | sed 's/.*://')"

truth=$("$cli" gen --dim "$dim" --rho "$rho" --rows 1 2>&1 >/dev/null | sed -n 's/^# true MI \([0-9.]*\) nats.*/\1/p')
echo "streaming $rows rows of a ${dim}+${dim}-dim Gaussian, rho $rho: true MI $truth nats"
"$cli" gen --dim "$dim" --rho "$rho" --rows "$rows" --seed 1 2>/dev/null |
  "$cli" stream --target "$target" --session demo --create --output text
echo "training until the held-out estimate converges (at most 120 s)..."
"$cli" estimate demo --target "$target" --wait-converged 120 --output text
echo "true MI: $truth nats"
kill -TERM "$server"
wait "$server" && echo "mine-server drained and exited 0"
