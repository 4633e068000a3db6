#!/usr/bin/env bash
# Stops what start.sh started (by its recorded pids only) and removes its temp dir.
# --keep-logs leaves the temp dir in place so a failed start can be read.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${REAL_APISERVER_CACHE:-$ROOT/.cache/real-apiserver}"
# Another state link lets a second server run beside the first (e.g. stock 1.20 gates).
CURRENT="${REAL_APISERVER_STATE:-$CACHE/current}"

[[ -L "$CURRENT" ]] || { echo "[real-apiserver] not running" >&2; exit 0; }
RUN_DIR="$(readlink "$CURRENT")"

# The apiserver first, so it does not spend its shutdown retrying a vanished etcd.
for p in kube-apiserver etcd; do
  pid="$(cat "$RUN_DIR/$p.pid" 2>/dev/null)" || continue
  kill "$pid" 2>/dev/null || continue
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
done

rm -f "$CURRENT"
if [[ "${1:-}" == "--keep-logs" ]]; then
  echo "[real-apiserver] stopped; logs kept in $RUN_DIR" >&2
else
  rm -rf "$RUN_DIR"
  echo "[real-apiserver] stopped" >&2
fi
