#!/bin/sh
# Soak test (not in CI): STREAMS concurrent mine-cli streams (default 64) into
# one mine-server for SECONDS (default 600), each looping `mine-cli gen |
# mine-cli stream` on its own session. Prints the server's RSS after warm-up
# (a tenth of the run) and at the end; flat memory is the bar. Uses a fresh
# state dir with --fsync=always, so the sample log and checkpoints are soaked too.
#   scripts/soak.sh                    # 64 streams, 10 minutes
#   STREAMS=8 SECONDS_TOTAL=60 scripts/soak.sh
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
streams=${STREAMS:-64}
total=${SECONDS_TOTAL:-600}
cli=$root/build/client/cli/mine-cli
work=$(mktemp -d)
"$root/build/server/mine-server" --host 127.0.0.1 --port 0 --metrics_port 0 --state_dir "$work/state" \
  --checkpoint_interval_s 10 >"$work/server.out" 2>"$work/server.err" &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 300); do grep -q 'listening on' "$work/server.out" && break; sleep 0.1; done
target="127.0.0.1:$(grep -o 'listening on [^ ]*' "$work/server.out" | sed 's/.*://')"
rss() { awk '/VmRSS/ {print $2 " kB"}' "/proc/$server/status"; }
end=$(( $(date +%s) + total ))
i=0
while [ "$i" -lt "$streams" ]; do
  (
    while [ "$(date +%s)" -lt "$end" ]; do
      "$cli" gen --dim 2 --rho 0.6 --rows 20000 --seed "$i" 2>/dev/null |
        "$cli" stream - --session "soak$i" --create --x-cols 0-1 --z-cols 2-3 \
          --batch-rows 256 --target "$target" >/dev/null 2>>"$work/clients.err" || true
    done
  ) &
  i=$((i + 1))
done
sleep $(( total / 10 ))
echo "warm-up RSS: $(rss)  (after $(( total / 10 )) s, $streams streams)"
wait_until=$end
while [ "$(date +%s)" -lt "$wait_until" ]; do sleep 5; done
echo "final RSS:   $(rss)  (after $total s)"
echo "sessions: $(ls "$work/state/sessions" | wc -l); client errors: $(grep -cv '^mine-cli: session ' "$work/clients.err" || true)"
