#!/usr/bin/env bash
# Starts etcd and the real kube-apiserver (built by build.sh) on loopback, writes a
# token-auth kubeconfig, waits for /readyz, and prints `export KUBECONFIG=...`.
# State lives in a fresh temp dir; .cache/real-apiserver/current points at it for stop.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${REAL_APISERVER_CACHE:-$ROOT/.cache/real-apiserver}"
BIN="$CACHE/bin/kube-apiserver"
# Another state link lets a second server run beside the first (e.g. stock 1.20 gates).
CURRENT="${REAL_APISERVER_STATE:-$CACHE/current}"
READY_TIMEOUT_S="${REAL_APISERVER_READY_TIMEOUT_S:-180}"
# Alpha gates in 1.20 that bring its Service API closer to current Kubernetes:
# allocateLoadBalancerNodePorts (GA 1.24), mixed TCP/UDP load balancers (GA 1.26) and
# ipFamilies/ipFamilyPolicy/clusterIPs (GA 1.23). Override with an empty string for stock 1.20.
FEATURE_GATES="${REAL_APISERVER_FEATURE_GATES-ServiceLBNodePortControl=true,MixedProtocolLBService=true,IPv6DualStack=true}"

log() { printf '[real-apiserver] %s\n' "$*" >&2; }

[[ -x "$BIN" ]] || { log "no $BIN: run scripts/real-apiserver/build.sh first"; exit 1; }
command -v etcd >/dev/null || { log "no etcd: apt-get install etcd-server"; exit 1; }
if [[ -e "$CURRENT" ]]; then
  log "already running ($(readlink -f "$CURRENT")): run scripts/real-apiserver/stop.sh first"
  exit 1
fi

# Ask the kernel for free loopback ports; the tiny race before etcd binds them is acceptable here.
free_ports() {
  node -e '
    const net = require("node:net");
    const n = Number(process.argv[1]);
    const servers = Array.from({ length: n }, () => net.createServer());
    Promise.all(servers.map((s) => new Promise((ok) => s.listen(0, "127.0.0.1", ok)))).then(() => {
      console.log(servers.map((s) => s.address().port).join(" "));
      servers.forEach((s) => s.close());
    });' "$1"
}

RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/kube-lbc-real-apiserver.XXXXXX")"
mkdir -p "$RUN_DIR/etcd" "$RUN_DIR/certs"
ln -s "$RUN_DIR" "$CURRENT"
# From here on a failure leaves nothing behind.
trap 'log "start failed; logs in $RUN_DIR/*.log"; tail -n 20 "$RUN_DIR"/*.log >&2 || true; "$ROOT/scripts/real-apiserver/stop.sh" --keep-logs' ERR

read -r ETCD_PORT ETCD_PEER_PORT API_PORT < <(free_ports 3)
TOKEN="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$TOKEN" >"$RUN_DIR/token"
# token,user,uid,"group": system:masters passes every RBAC check.
printf '%s,kube-lbc-admin,kube-lbc-admin,"system:masters"\n' "$TOKEN" >"$RUN_DIR/tokens.csv"
openssl genrsa -out "$RUN_DIR/sa.key" 2048 2>/dev/null

log "etcd on 127.0.0.1:$ETCD_PORT"
etcd --name kube-lbc --data-dir "$RUN_DIR/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "kube-lbc=http://127.0.0.1:$ETCD_PEER_PORT" \
  --unsafe-no-fsync >"$RUN_DIR/etcd.log" 2>&1 &
echo $! >"$RUN_DIR/etcd.pid"

# Bounded poll, as for /readyz below: etcd is an external process with no readiness event.
deadline=$((SECONDS + READY_TIMEOUT_S))
until curl -sf "http://127.0.0.1:$ETCD_PORT/health" >/dev/null; do
  kill -0 "$(cat "$RUN_DIR/etcd.pid")" 2>/dev/null || { log "etcd exited"; false; }
  ((SECONDS < deadline)) || { log "etcd not ready after ${READY_TIMEOUT_S}s"; false; }
  sleep 0.2
done
# Age the store before the apiserver lists it: on a brand-new etcd the watch caches start at
# revision 1, so a watch from resourceVersion 1 replays history instead of answering 410 Gone as
# any cluster that has lived a little does. Keys outside /registry are invisible to the API.
for i in $(seq 1 20); do
  key="$(printf 'kube-lbc/warm-up/%s' "$i" | base64)"
  curl -sf -X POST "http://127.0.0.1:$ETCD_PORT/v3/kv/put" -d "{\"key\":\"$key\",\"value\":\"$key\"}" >/dev/null
done

log "kube-apiserver on https://127.0.0.1:$API_PORT"
# The serving cert is self-signed into --cert-dir. Endpoint reconciling is off because the
# only address it could advertise is loopback, which Endpoints validation refuses.
# ServiceAccount admission is off: it waits for a token controller that does not run here.
"$BIN" \
  --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
  --cert-dir "$RUN_DIR/certs" \
  --token-auth-file "$RUN_DIR/tokens.csv" \
  --authorization-mode RBAC \
  --service-account-issuer https://kubernetes.default.svc \
  --service-account-key-file "$RUN_DIR/sa.key" \
  --service-account-signing-key-file "$RUN_DIR/sa.key" \
  --service-cluster-ip-range 10.96.0.0/12 \
  --service-node-port-range 30000-32767 \
  --endpoint-reconciler-type none \
  --disable-admission-plugins ServiceAccount \
  ${FEATURE_GATES:+--feature-gates "$FEATURE_GATES"} \
  --v "${REAL_APISERVER_VERBOSITY:-1}" >"$RUN_DIR/kube-apiserver.log" 2>&1 &
echo $! >"$RUN_DIR/kube-apiserver.pid"

cat >"$RUN_DIR/kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
  - name: real-apiserver
    cluster:
      server: https://127.0.0.1:$API_PORT
      insecure-skip-tls-verify: true
users:
  - name: kube-lbc-admin
    user:
      token: $TOKEN
contexts:
  - name: real-apiserver
    context:
      cluster: real-apiserver
      user: kube-lbc-admin
current-context: real-apiserver
KUBECONFIG

# Bounded poll: the apiserver is an external process with no readiness event to wait on.
deadline=$((SECONDS + READY_TIMEOUT_S))
until curl -ksf -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$API_PORT/readyz" >/dev/null; do
  for p in etcd kube-apiserver; do
    kill -0 "$(cat "$RUN_DIR/$p.pid")" 2>/dev/null || { log "$p exited"; false; }
  done
  ((SECONDS < deadline)) || { log "not ready after ${READY_TIMEOUT_S}s"; false; }
  sleep 1
done
log "ready in ${SECONDS}s"
echo "export KUBECONFIG=$RUN_DIR/kubeconfig"
