#!/usr/bin/env bash
# Local scale-out and failover (README "Scale-out and failover"): three
# mine-server replicas on 127.0.0.1 sharing one state directory
# (--shared_state), nginx in front hashing x-session-id on a consistent ring,
# twelve sessions streaming through it (mine-scale-out-client). One replica
# is killed with kill -9 mid-stream; its sessions must continue on the
# others; then it is restarted and the sessions that hash to it must move
# back. Passes when every session counts exactly the rows the server
# acknowledged (nothing lost, nothing applied twice) and both moves happen.
# Prints the figures: rows acknowledged vs counted, time to fail over, time
# to move back, the longest a client waited between two estimates.
#
#   tests/deploy/scale_out_test.sh build/server/mine-server build/tests/deploy/mine-scale-out-client
#
# The clients stream until the test has seen both moves (plus 3 s), at most
# 150 s. Environment: SESSIONS (12), LEASE_TTL_S (3), KEEP_RUN_DIR=1 keeps
# the temp dir (logs, state) for inspection.
set -euo pipefail

server=${1:?usage: scale_out_test.sh MINE_SERVER MINE_SCALE_OUT_CLIENT}
client=${2:?usage: scale_out_test.sh MINE_SERVER MINE_SCALE_OUT_CLIENT}
sessions=${SESSIONS:-12}
ttl=${LEASE_TTL_S:-3}
repo=$(cd "$(dirname "$0")/../.." && pwd)
template=$repo/deploy/nginx/mine-grpc.conf.template

nginx_bin=$(command -v nginx || true)
[[ -z $nginx_bin && -x /usr/sbin/nginx ]] && nginx_bin=/usr/sbin/nginx
if [[ -z $nginx_bin ]]; then
  echo "scale_out_test: nginx is not installed (scripts/install-deps.sh installs it)" >&2
  exit 1
fi

run=$(mktemp -d /tmp/mine-scale-out-XXXXXX)
chmod 755 "$run"  # nginx workers may run as another user when started by root
state=$run/state
mkdir -p "$state"
declare -a ports replica_pids
nginx_pid= client_pid=

exec 3>&2  # the test's stderr; cleanup silences bash's "Killed" job notices
cleanup() {
  local status=$?
  exec 2>/dev/null
  for pid in "${replica_pids[@]:-}" $client_pid; do
    [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null || true
  done
  # nginx's master stops its worker on SIGTERM; a worker orphaned by kill -9
  # of the master would keep running.
  if [[ -n $nginx_pid ]]; then
    kill -TERM "$nginx_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$nginx_pid" 2>/dev/null || true
  fi
  wait 2>/dev/null || true
  if ((status != 0)); then
    echo "scale_out_test: FAILED; replica and nginx logs follow (run dir $run)" >&3
    tail -n 20 "$run"/*.err "$run"/error.log >&3 || true
  fi
  [[ ${KEEP_RUN_DIR:-0} == 1 ]] || rm -rf "$run"
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until $1 (a command) succeeds, checking every 0.1 s for at most $2 s.
wait_for() {
  local deadline=$((SECONDS + $2))
  until eval "$1"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

start_replica() {
  local k=$1
  "$server" --host=127.0.0.1 --port="${ports[$k]}" --state_dir="$state" --shared_state \
    --replica_id="r$k" --lease_ttl_s="$ttl" --metrics_port=0 --workers=1 \
    --checkpoint_interval_s=5 >"$run/r$k.out" 2>>"$run/r$k.err" &
  replica_pids[$k]=$!
  if ! wait_for "grep -qs 'listening on' '$run/r$k.out'" 60; then
    echo "scale_out_test: replica r$k did not start" >&2
    return 1
  fi
}

owner_of() {  # the replica holding session $1's lease, "-" when none
  local lease=$state/sessions/$1/lease
  if [[ -f $lease ]]; then awk '{ print $2 }' "$lease"; else echo "-"; fi
}

ids=()
for ((i = 0; i < sessions; i++)); do ids+=("$(printf 'so-%02d' "$i")"); done

for k in 0 1 2; do ports[$k]=$(free_port); done
listen_port=$(free_port)
servers=""
for k in 0 1 2; do
  servers+="server 127.0.0.1:${ports[$k]} max_fails=1 fail_timeout=2s; "
done
sed -e "s|@RUN_DIR@|$run|g" -e "s|@LISTEN@|127.0.0.1:$listen_port|g" -e "s|@SERVERS@|$servers|g" \
  "$template" >"$run/nginx.conf"

for k in 0 1 2; do start_replica "$k"; done
# Its own stdout too: nothing started here may hold the caller's output open.
"$nginx_bin" -p "$run" -c "$run/nginx.conf" -e "$run/error.log" >"$run/nginx.out" 2>&1 &
nginx_pid=$!
if ! wait_for "(exec 3<>/dev/tcp/127.0.0.1/$listen_port) 2>/dev/null" 30; then
  echo "scale_out_test: nginx did not start" >&2
  exit 1
fi
echo "3 replicas (ports ${ports[*]}), nginx on 127.0.0.1:$listen_port, lease ttl ${ttl}s"

"$client" --target="127.0.0.1:$listen_port" --sessions="$sessions" --seconds=150 \
  --stop_file="$run/stop" >"$run/client.out" 2>"$run/client.err" &
client_pid=$!

all_owned() {
  local id
  for id in "${ids[@]}"; do [[ $(owner_of "$id") == r* ]] || return 1; done
}
wait_for all_owned 60 || { echo "scale_out_test: sessions were not all created" >&2; exit 1; }
sleep 6  # mid-stream

# The victim: the replica holding the most sessions.
declare -A count
victim=0
for id in "${ids[@]}"; do
  o=$(owner_of "$id")
  count[$o]=$((${count[$o]:-0} + 1))
done
for k in 0 1 2; do ((${count[r$k]:-0} > ${count[r$victim]:-0})) && victim=$k; done
moved=()
for id in "${ids[@]}"; do [[ $(owner_of "$id") == "r$victim" ]] && moved+=("$id"); done
echo "owners before: r0 ${count[r0]:-0}, r1 ${count[r1]:-0}, r2 ${count[r2]:-0} sessions"

kill -9 "${replica_pids[$victim]}"
wait "${replica_pids[$victim]}" 2>/dev/null || true
killed_at=$(now)
echo "kill -9 r$victim (${#moved[@]} sessions: ${moved[*]})"

taken_over() {
  local id
  for id in "${moved[@]}"; do
    [[ $(owner_of "$id") == r* && $(owner_of "$id") != "r$victim" ]] || return 1
  done
}
if ! wait_for taken_over 60; then
  echo "scale_out_test: r$victim's sessions were not taken over within 60 s" >&2
  exit 1
fi
failover_s=$(elapsed "$killed_at" "$(now)")
echo "failover: r$victim's ${#moved[@]} sessions owned by other replicas after ${failover_s} s"

sleep 3
restarted_at=$(now)
start_replica "$victim"
back_home() {
  local id
  for id in "${moved[@]}"; do [[ $(owner_of "$id") == "r$victim" ]] || return 1; done
}
if ! wait_for back_home 60; then
  echo "scale_out_test: sessions did not move back to r$victim within 60 s" >&2
  for id in "${moved[@]}"; do echo "  $id: $(owner_of "$id")" >&2; done
  exit 1
fi
moveback_s=$(elapsed "$restarted_at" "$(now)")
echo "move back: ${#moved[@]} sessions owned by r$victim again ${moveback_s} s after its restart began"

sleep 3  # the moved sessions stream on their home replica again
touch "$run/stop"
client_status=0
wait "$client_pid" || client_status=$?
client_pid=
cat "$run/client.out"
if ((client_status != 0)); then
  echo "scale_out_test: client exited $client_status" >&2
  cat "$run/client.err" >&2
  exit 1
fi
total=$(grep '^total' "$run/client.out")
read -r _ _ acked _ counted _ reconnects _ longest _ <<<"$total"
echo "RESULT rows acknowledged $acked, rows counted by the sessions $counted;" \
  "failover ${failover_s} s (lease ttl ${ttl} s), move back ${moveback_s} s;" \
  "longest client wait between estimates ${longest} s; $reconnects stream resumptions"
