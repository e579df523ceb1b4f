#!/bin/sh
# mine-router: nginx in front of the mine-server StatefulSet, pinning every call
# of a session to one replica by consistent hashing on the x-session-id request
# metadata. nginx resolves upstream host names only when it loads its
# configuration, so this wrapper keeps the upstream list current: every
# MINE_RESOLVE_INTERVAL_S seconds it looks up the pod names
# printf(MINE_UPSTREAM_NAME_FORMAT, 0 .. MINE_MAX_REPLICAS-1) and, when the set
# of resolvable names or their addresses changed, rewrites the included
# upstream file, checks the configuration (nginx -t) and reloads nginx
# gracefully (SIGHUP: new workers take new calls, old ones finish their streams).
#
#   MINE_UPSTREAM_NAME_FORMAT=mine-%d.mine-headless MINE_MAX_REPLICAS=8 mine-router
#
# The ring members are the pod names, not their addresses: a restarted pod with
# a new IP keeps its place on the ring, so its sessions do not move. Only ready
# pods have DNS records behind a headless Service, so a draining or crashed
# replica leaves the ring at the next lookup; max_fails covers the seconds before.
set -eu

conf=${MINE_ROUTER_CONF:-/etc/mine-router/nginx.conf}
run_dir=${MINE_ROUTER_RUN_DIR:-/run/mine-router}
format=${MINE_UPSTREAM_NAME_FORMAT:?e.g. mine-%d.mine-headless}
max=${MINE_MAX_REPLICAS:?the HPA maxReplicas of the StatefulSet}
port=${MINE_UPSTREAM_PORT:-50051}
interval=${MINE_RESOLVE_INTERVAL_S:-5}
upstream="$run_dir/upstream.conf"

log() { echo "mine-router: $*" >&2; }

# The server lines of the upstream block, one per resolvable pod name, each
# followed by its current address as a comment so that an address change
# changes the file (and triggers a reload that re-resolves it).
render() {
  i=0
  found=0
  while [ "$i" -lt "$max" ]; do
    # shellcheck disable=SC2059  # the format is the operator's pod-name pattern
    name=$(printf "$format" "$i")
    addr=$(getent ahostsv4 "$name" 2>/dev/null | awk 'NR == 1 { print $1 }') || addr=
    if [ -n "$addr" ]; then
      # max_fails=1 fail_timeout=5s: after one failed connection nginx skips this
      # replica for 5 s and the hash walks on to the next ring member.
      echo "server $name:$port max_fails=1 fail_timeout=5s;  # $addr"
      found=$((found + 1))
    fi
    i=$((i + 1))
  done
  if [ "$found" -eq 0 ]; then
    # No ready replica: nginx needs at least one server; a disabled one makes
    # every call fail fast with UNAVAILABLE instead of nginx refusing to start.
    echo "server 127.0.0.1:$port down;  # no replica resolvable"
  fi
}

mkdir -p "$run_dir"
render >"$upstream"
log "upstream: $(grep -c '^server .*:[0-9]* max_fails' "$upstream" || true) replica(s)"
if [ "${1:-}" = "--render-only" ]; then cat "$upstream"; exit 0; fi
# The access log is /dev/stdout, which nginx opens by path. A non-root process
# may not reopen a descriptor it inherited from root (the container runtime's
# stdout), so nginx's stdout is a pipe this script owns, copied to the real one.
# (nginx -t opens the log files too: its stdout is /dev/null, which anyone may open.)
nginx -e stderr -t -q -c "$conf" >/dev/null
rm -f "$run_dir/stdout"
mkfifo -m 0600 "$run_dir/stdout"
cat "$run_dir/stdout" &
nginx -e stderr -c "$conf" -g 'daemon off;' >"$run_dir/stdout" &
nginx_pid=$!
# SIGTERM from the kubelet: SIGQUIT is nginx's graceful stop (calls in flight finish).
trap 'kill -QUIT "$nginx_pid" 2>/dev/null; wait "$nginx_pid"; exit 0' TERM INT

while kill -0 "$nginx_pid" 2>/dev/null; do
  sleep "$interval" &
  wait $! || true
  render >"$upstream.new"
  if cmp -s "$upstream.new" "$upstream"; then continue; fi
  cp "$upstream" "$upstream.old"
  mv "$upstream.new" "$upstream"
  if nginx -e stderr -t -q -c "$conf" >/dev/null; then
    log "replicas changed, reloading: $(grep -o '^server [^ ]*' "$upstream" | cut -d' ' -f2 | tr '\n' ' ')"
    kill -HUP "$nginx_pid"
  else
    log "new upstream list rejected by nginx -t; keeping the previous one"
    mv "$upstream.old" "$upstream"
  fi
done
wait "$nginx_pid"
