#!/usr/bin/env bash
# Offline checks of deploy/ (CTest: deploy_manifests, label unit). Needs only
# what scripts/install-deps.sh installs (python3-yaml, openssl, nginx); runs in
# a few seconds without a cluster or network.
#
#   deploy/k8s/validate.sh
#   MINE_K8S_MODELS=.../kubernetes/client/models deploy/k8s/validate.sh   # + field-level API check
#
# (nginx -t runs with stdout on /dev/null: the access log is /dev/stdout, which
# nginx reopens by path, and anyone may open /dev/null.)
#
# 1. validate.py: strict YAML, kinds, cross-references, flags, metric names,
#    timings, compose.yaml, Prometheus and Grafana files; the Secrets come from
#    a make-secrets.sh run into a temporary folder.
# 2. The router: mine-router.sh renders the upstream list from pod names that
#    resolve (in a private mount namespace whose /etc/hosts maps mine-0 and
#    mine-1 to loopback: the host's /etc/hosts is untouched), and nginx -t
#    accepts the router's nginx.conf from router.yaml with it; and again with no
#    replica resolvable. Skipped (said so) without nginx, unshare or root.
# 3. Extras when present: kubectl kustomize (offline build of the
#    kustomization), promtool check rules.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

bash -n deploy/build-image.sh deploy/k8s/make-secrets.sh
sh -n deploy/router/mine-router.sh

deploy/k8s/make-secrets.sh "$tmp/secrets" minestream 2>/dev/null
models=()
[[ -n ${MINE_K8S_MODELS:-} ]] && models=(--k8s-models "$MINE_K8S_MODELS")
python3 deploy/k8s/validate.py --secrets "$tmp/secrets/secrets.yaml" "${models[@]}"

# --- 2. nginx -t on the router's configuration ----------------------------------
if command -v nginx >/dev/null; then
  mkdir -p "$tmp/run" "$tmp/tls"
  cp "$tmp/secrets/router.crt" "$tmp/tls/tls.crt"
  cp "$tmp/secrets/router.key" "$tmp/tls/tls.key"
  # The ConfigMap's nginx.conf with its two directories moved under $tmp.
  python3 - "$tmp" <<'PY'
import sys, yaml
tmp = sys.argv[1]
for doc in yaml.safe_load_all(open("deploy/k8s/router.yaml")):
    if doc and doc["kind"] == "ConfigMap":
        conf = doc["data"]["nginx.conf"]
conf = conf.replace("/run/mine-router", f"{tmp}/run").replace("/etc/mine-router/tls", f"{tmp}/tls")
open(f"{tmp}/nginx.conf", "w").write(conf)
PY
  printf '127.0.0.1 localhost\n127.0.0.1 mine-0.mine-headless\n127.0.0.1 mine-1.mine-headless\n' >"$tmp/hosts"
  if [[ $(id -u) == 0 ]] && command -v unshare >/dev/null && unshare --mount true 2>/dev/null; then
  # Inside the namespace: render with 2 of 8 names resolvable, nginx -t; then
  # with none (the fallback line), nginx -t again.
  # shellcheck disable=SC2016  # expanded by the inner bash, with $1 = $tmp
  unshare --mount bash -euo pipefail -c '
    tmp=$1
    mount --bind "$tmp/hosts" /etc/hosts
    export MINE_ROUTER_RUN_DIR=$tmp/run MINE_ROUTER_CONF=$tmp/nginx.conf \
           MINE_UPSTREAM_NAME_FORMAT=mine-%d.mine-headless MINE_MAX_REPLICAS=8
    deploy/router/mine-router.sh --render-only >"$tmp/two" 2>/dev/null
    [[ $(grep -c "^server mine-[01]\.mine-headless:50051 max_fails" "$tmp/two") == 2 ]] ||
      { echo "FAIL router: expected mine-0 and mine-1 in the upstream list:"; cat "$tmp/two"; exit 1; } >&2
    ! grep -q "mine-2" "$tmp/two" || { echo "FAIL router: mine-2 does not resolve" >&2; exit 1; }
    nginx -e stderr -t -q -c "$tmp/nginx.conf" >/dev/null
    MINE_UPSTREAM_NAME_FORMAT=absent-%d.mine-headless deploy/router/mine-router.sh --render-only \
      >"$tmp/none" 2>/dev/null
    grep -q " down;" "$tmp/none" || { echo "FAIL router: no fallback line" >&2; exit 1; }
    nginx -e stderr -t -q -c "$tmp/nginx.conf" >/dev/null
  ' _ "$tmp"
  echo "validate: router: upstream list rendered from resolvable pod names; nginx $(nginx -v 2>&1 | sed 's/.*\///') -t OK (2 replicas, 0 replicas)"
  else
    # No private mount namespace here (not root, or a container without
    # CAP_SYS_ADMIN): nginx -t on the configuration with a loopback upstream line.
    echo "server 127.0.0.1:50051 max_fails=1 fail_timeout=5s;" >"$tmp/run/upstream.conf"
    nginx -e stderr -t -q -c "$tmp/nginx.conf" >/dev/null
    echo "validate: router: nginx -t OK with a loopback upstream; rendering from pod names SKIPPED (no mount namespace)"
  fi
else
  echo "validate: router nginx -t SKIPPED (no nginx)"
fi

# --- 3. Extras --------------------------------------------------------------------
if command -v kubectl >/dev/null; then
  kubectl kustomize deploy/k8s >"$tmp/built.yaml"
  echo "validate: kubectl kustomize: $(grep -c '^kind:' "$tmp/built.yaml") objects built"
fi
if command -v promtool >/dev/null; then
  promtool check rules deploy/prometheus-rules.yml >/dev/null
  echo "validate: promtool check rules OK"
fi
echo "validate: PASS"
