#!/usr/bin/env bash
# Makes the two Secrets the manifests mount, as a YAML file to apply, plus the
# files clients need. Nothing it writes is committed.
#
#   deploy/k8s/make-secrets.sh OUT_DIR [NAMESPACE]
#   kubectl apply -n NAMESPACE -f OUT_DIR/secrets.yaml
#
# mine-router-tls (kubernetes.io/tls): the router's certificate, signed by a CA
#   made here (OUT_DIR/ca.crt: give it to clients, mine-cli --tls-ca). Its names
#   are the Service's in-cluster names plus MINE_ROUTER_HOSTS (space-separated,
#   e.g. the load balancer's DNS name). Replace it with your PKI's (or
#   cert-manager's) certificate in production: same Secret name and keys.
# mine-tokens (Opaque, key 'tokens'): one random bearer token per tenant in
#   MINE_TENANTS (default: "default"), 'token tenant' lines as --auth_tokens_file
#   reads them. OUT_DIR/tokens keeps a copy for handing the tokens out.
# Needs openssl; no cluster access.
set -euo pipefail
out=${1:?usage: make-secrets.sh OUT_DIR [NAMESPACE]}
namespace=${2:-default}
hosts=${MINE_ROUTER_HOSTS:-}
tenants=${MINE_TENANTS:-default}
days=${MINE_CERT_DAYS:-365}
mkdir -p "$out"
umask 077

sans="DNS:mine-router,DNS:mine-router.$namespace,DNS:mine-router.$namespace.svc"
sans+=",DNS:mine-router.$namespace.svc.cluster.local"
for h in $hosts; do sans+=",DNS:$h"; done

openssl req -x509 -newkey rsa:3072 -nodes -days "$days" -subj "/CN=minestream CA" \
  -keyout "$out/ca.key" -out "$out/ca.crt" 2>/dev/null
openssl req -newkey rsa:3072 -nodes -subj "/CN=mine-router.$namespace.svc" \
  -keyout "$out/router.key" -out "$out/router.csr" 2>/dev/null
openssl x509 -req -in "$out/router.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
  -CAcreateserial -days "$days" -out "$out/router.crt" \
  -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$sans") 2>/dev/null
rm -f "$out/router.csr" "$out/ca.srl"

: >"$out/tokens"
for tenant in $tenants; do
  # 32 random bytes, hex: well above the server's 16-character minimum.
  echo "$(openssl rand -hex 32) $tenant" >>"$out/tokens"
done

b64() { base64 -w0 <"$1"; }
cat >"$out/secrets.yaml" <<YAML
apiVersion: v1
kind: Secret
metadata:
  name: mine-router-tls
  labels: {app.kubernetes.io/name: minestream, app.kubernetes.io/component: router}
type: kubernetes.io/tls
data:
  tls.crt: $(b64 "$out/router.crt")
  tls.key: $(b64 "$out/router.key")
---
apiVersion: v1
kind: Secret
metadata:
  name: mine-tokens
  labels: {app.kubernetes.io/name: minestream, app.kubernetes.io/component: server}
type: Opaque
data:
  tokens: $(b64 "$out/tokens")
YAML
echo "make-secrets: wrote $out/secrets.yaml (apply with kubectl apply -n $namespace -f ...)," \
  "$out/ca.crt for clients and $out/tokens" >&2
