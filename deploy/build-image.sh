#!/usr/bin/env bash
# Builds deploy/Dockerfile (mine-server, mine-cli) and deploy/router/Dockerfile
# (nginx router) with buildah (no Docker engine needed) and starts them once:
# health through the image's HEALTHCHECK command, /metrics, one estimate to
# convergence, the same session's estimate through the router (TLS, routed by
# x-session-id to the replica's pod name), drain on SIGTERM with the session
# checkpointed. Prints PASS and the time taken, or FAIL and exits 1. Run as root
# on Debian bookworm with buildah and debootstrap installed (apt-get install
# buildah debootstrap), python3-yaml and openssl.
#
#   deploy/build-image.sh                    # image minestream:dev
#   IMAGE=minestream:0.1 BUILD_JOBS=1 deploy/build-image.sh
#
# No registry is needed: the base image (debian:bookworm-slim, the Dockerfile's
# BASE_IMAGE) is made once with debootstrap from the Debian mirror apt uses and
# tagged under the name `docker build` would pull, so the same Dockerfile builds
# with both. Cached in buildah's storage; REBUILD_BASE=1 makes it again.
set -euo pipefail
cd "$(dirname "$0")/.."

image=${IMAGE:-minestream:dev}
base=docker.io/library/debian:bookworm-slim
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
start=$(date +%s)
say() { echo "build-image: $*" >&2; }
elapsed() { echo "$(( $(date +%s) - start )) s"; }
# buildah run answers a signal by killing its command (SIGKILL), so signals go
# to the process itself, found by name among buildah run's descendants.
descendants() { local p; for p in $(ps -o pid= --ppid "$1"); do echo "$p"; descendants "$p"; done; }
child_named() {
  local p
  for p in $(descendants "$1"); do
    if [[ $(ps -o comm= -p "$p") == "$2" ]]; then echo "$p"; return 0; fi
  done
  return 0
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

for tool in buildah debootstrap python3; do
  command -v "$tool" >/dev/null || { say "needs $tool"; exit 1; }
done

# --- 1. The base image: a minimal bookworm root filesystem. --------------------
if [[ ${REBUILD_BASE:-0} == 1 ]] || ! buildah inspect --type image "$base" >/dev/null 2>&1; then
  say "making $base with debootstrap --variant=minbase from $mirror"
  rootfs=$(mktemp -d)
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/dev/null
  # The same apt sources as Docker's debian:bookworm images: point releases,
  # updates and security fixes, from the public mirrors.
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  ctr=$(buildah from scratch)
  mnt=$(buildah mount "$ctr")
  tar -C "$rootfs" -c . | tar -C "$mnt" -x --numeric-owner
  buildah umount "$ctr" >/dev/null
  buildah config --cmd /bin/bash --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
  buildah commit --rm --quiet "$ctr" "$base" >/dev/null
  rm -rf "$rootfs"
  say "base ready after $(elapsed)"
fi

# --- 2. The image. ---------------------------------------------------------------
# --format docker: the OCI format has no HEALTHCHECK and buildah would drop it.
# --pull-never: the base comes from local storage, never a registry.
say "building $image (compiles mine-server and mine-cli)"
build_start=$(date +%s)
buildah bud --isolation chroot --format docker --pull-never --layers \
  --build-arg "BUILD_JOBS=${BUILD_JOBS:-}" -f deploy/Dockerfile -t "$image" . >&2
build_s=$(( $(date +%s) - build_start ))
size=$(buildah images --format '{{.Size}}' "$image" | head -1)
say "image $image built in ${build_s} s, size $size"
router_image=${ROUTER_IMAGE:-minestream-router:dev}
buildah bud --isolation chroot --format docker --pull-never --layers \
  -f deploy/router/Dockerfile -t "$router_image" . >&2
router_size=$(buildah images --format '{{.Size}}' "$router_image" | head -1)
say "image $router_image built, size $router_size"

# --- 3. Start the server from the image once. -----------------------------------
# buildah run uses the image's user (10001), environment and working directory;
# the command is the image's ENTRYPOINT plus flags for free loopback ports.
config=$(buildah inspect --type image "$image")
field() { python3 -c 'import json,sys; c=json.load(sys.stdin)["Docker"]["config"]; print(json.dumps(c.get(sys.argv[1])))' "$1" <<<"$config"; }
[[ $(field User) == '"10001:10001"' ]] || { say "FAIL: image user is $(field User)"; exit 1; }
[[ $(field Env) == *'"OMP_NUM_THREADS=1"'* ]] || { say "FAIL: no OMP_NUM_THREADS=1"; exit 1; }
[[ $(field Volumes) == *'/var/lib/minestream'* ]] || { say "FAIL: no state volume"; exit 1; }
mapfile -t entrypoint < <(field Entrypoint | python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)))')
mapfile -t healthcheck < <(field Healthcheck | python3 -c 'import json,sys; t=json.load(sys.stdin)["Test"]; assert t[0]=="CMD", t; print("\n".join(t[1:]))')
metrics_port=$(free_port)

ctr=$(buildah from --pull-never "$image")
# The router's container resolves the pod name mine-0.mine-headless to this host.
router_ctr=$(buildah from --pull-never --add-host mine-0.mine-headless:127.0.0.1 "$router_image")
log=$(mktemp)
work=$(mktemp -d)
server=
router=
cleanup() {
  local p
  for p in $router $server; do
    if kill -0 "$p" 2>/dev/null; then kill -TERM "$p" 2>/dev/null || true; fi
    wait "$p" 2>/dev/null || true
  done
  buildah rm "$ctr" "$router_ctr" >/dev/null 2>&1 || true
  rm -rf "$log" "$work"
}
trap cleanup EXIT
in_image() { buildah run --isolation chroot "$ctr" -- "$@"; }

# chroot isolation shares the host's network: --host=127.0.0.1 keeps it on
# loopback, --port=0 lets the kernel pick a free port (read from the start-up line).
buildah run --isolation chroot "$ctr" -- "${entrypoint[@]}" --host=127.0.0.1 --port=0 \
  --metrics_port="$metrics_port" --workers=1 >"$log" 2>&1 &
server=$!
for _ in $(seq 300); do grep -q 'listening on' "$log" && break; sleep 0.1; done
cat "$log" >&2
grep -q 'listening on' "$log" || { say "FAIL: the server did not start"; exit 1; }
grep -q 'BLAS=.*openblas' "$log" || { say "FAIL: OpenBLAS is not the BLAS in use"; exit 1; }
target="127.0.0.1:$(grep -o 'listening on [^ ]*' "$log" | sed 's/.*://')"

# The HEALTHCHECK's own command, pointed at the port picked above.
check=("${healthcheck[@]/127.0.0.1:50051/$target}")
in_image "${check[@]}" >&2 || { say "FAIL: health check"; exit 1; }
python3 -c 'import sys,urllib.request; t=urllib.request.urlopen(sys.argv[1], timeout=5).read().decode(); sys.exit(0 if "mine_sessions_active" in t else 1)' \
  "http://127.0.0.1:$metrics_port/metrics" || { say "FAIL: /metrics has no mine_sessions_active"; exit 1; }

# One estimate: 20,000 rows of a 2+2-dim Gaussian, rho 0.8 (true MI 1.0217 nats).
in_image sh -c "mine-cli gen --dim 2 --rho 0.8 --rows 20000 --seed 1 2>/dev/null |
  mine-cli stream --target $target --session image-check --create --output text" >&2
estimate=$(in_image mine-cli estimate image-check --target "$target" --wait-converged 120 --output json)
echo "$estimate" >&2
python3 - "$estimate" <<'CHECK' || { say "FAIL: estimate"; exit 1; }
import json, sys
e = json.loads(sys.argv[1].strip().splitlines()[-1])
mi, state = float(e.get("mi_nats", 0)), e.get("state", "")
# Converged and within the accuracy table's spread of the truth (README: 0.99 at 1.02).
sys.exit(0 if state == "CONVERGED" and 0.85 < mi < 1.1 else 1)
CHECK


# --- 4. The router image in front of it: TLS in, x-session-id hashed. ------------
# The in-cluster configuration (deploy/k8s/router.yaml), with loopback stand-ins:
# free ports instead of 8443/8081, the pod name mine-0.mine-headless resolving
# to this host (buildah from --add-host), and a certificate from make-secrets.sh
# that also names localhost.
MINE_ROUTER_HOSTS=localhost deploy/k8s/make-secrets.sh "$work/secrets" minestream 2>/dev/null
mkdir -p "$work/tls" "$work/run"
cp "$work/secrets/router.crt" "$work/tls/tls.crt"
cp "$work/secrets/router.key" "$work/tls/tls.key"
cp "$work/secrets/ca.crt" "$work/ca.crt"
chmod 0755 "$work" "$work/tls" && chmod 0644 "$work/tls/"* "$work/ca.crt" && chmod 0777 "$work/run"
tls_port=$(free_port)
health_port=$(free_port)
python3 - "$work/nginx.conf" "$tls_port" "$health_port" <<'PY'
import re, sys, yaml
out, tls_port, health_port = sys.argv[1:]
conf = next(d for d in yaml.safe_load_all(open("deploy/k8s/router.yaml"))
            if d and d["kind"] == "ConfigMap")["data"]["nginx.conf"]
conf = re.sub(r"listen 8443 ", f"listen 127.0.0.1:{tls_port} ", conf)
conf = re.sub(r"listen 8081;", f"listen 127.0.0.1:{health_port};", conf)
open(out, "w").write(conf)
PY
chmod 0644 "$work/nginx.conf"
buildah run --isolation chroot \
  -v "$work/nginx.conf:/etc/mine-router/nginx.conf:ro" -v "$work/tls:/etc/mine-router/tls:ro" \
  -v "$work/run:/run/mine-router" \
  -e MINE_UPSTREAM_NAME_FORMAT=mine-%d.mine-headless -e MINE_MAX_REPLICAS=3 \
  -e "MINE_UPSTREAM_PORT=${target##*:}" -e MINE_RESOLVE_INTERVAL_S=2 \
  "$router_ctr" -- /usr/local/bin/mine-router >"$work/router.log" 2>&1 &
router=$!
for _ in $(seq 100); do
  python3 -c 'import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
    "http://127.0.0.1:$health_port/healthz" 2>/dev/null && break
  sleep 0.2
done
python3 -c 'import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
  "http://127.0.0.1:$health_port/healthz" ||
  { cat "$work/router.log" >&2; say "FAIL: the router did not start"; exit 1; }
via_router=$(buildah run --isolation chroot -v "$work/ca.crt:/tmp/ca.crt:ro" "$ctr" -- \
  mine-cli estimate image-check --target "localhost:$tls_port" --tls-ca /tmp/ca.crt --output json) ||
  { cat "$work/router.log" >&2; say "FAIL: no estimate through the router"; exit 1; }
echo "$via_router" >&2
grep -q '"session_id":"image-check"' <<<"$via_router" || { say "FAIL: router answer"; exit 1; }
grep -q "session=image-check upstream=127.0.0.1:${target##*:}" "$work/router.log" ||
  { cat "$work/router.log" >&2; say "FAIL: the router did not log the session's upstream"; exit 1; }
grep 'mine-router:\|session=' "$work/router.log" >&2
router_pid=$(child_named "$router" mine-router)
[[ -n $router_pid ]] || { say "FAIL: no mine-router process under buildah run ($router)"; exit 1; }
kill -TERM "$router_pid"
wait "$router" || { say "FAIL: the router did not stop cleanly on SIGTERM"; router=; exit 1; }
router=

# --- 5. Drain: the server exits 0 after SIGTERM and checkpointed the session. ----
server_pid=$(child_named "$server" mine-server)
[[ -n $server_pid ]] || { say "FAIL: no mine-server process under buildah run ($server)"; exit 1; }
kill -TERM "$server_pid"
wait "$server" || { say "FAIL: the server did not exit 0 after SIGTERM"; server=; exit 1; }
server=
grep -q 'drain' "$log" && tail -n 3 "$log" >&2
files=$(in_image find /var/lib/minestream -type f)
echo "$files" >&2
grep -q image-check <<<"$files" || { say "FAIL: no checkpoint of the session in the state volume"; exit 1; }
say "PASS: images $image ($size) and $router_image ($router_size); build ${build_s} s;" \
  "server, estimate, router and drain checks passed; total $(elapsed)"
