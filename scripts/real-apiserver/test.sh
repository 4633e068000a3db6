#!/usr/bin/env bash
# `make test-real-apiserver`: build (cached), start on loopback, run the contract suite and
# the controller's integration tests with KUBECONFIG pointing at the real server, stop.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"

specs=()
[[ -d test/contract ]] && specs+=('test/contract/**/*.test.ts')
[[ -d test/integration/controller ]] && specs+=('test/integration/controller/**/*.test.ts')
if ((${#specs[@]} == 0)); then
  echo "[real-apiserver] neither test/contract nor test/integration/controller exists: nothing to run" >&2
  exit 1
fi

"$HERE/build.sh"
eval "$("$HERE/start.sh")"
trap '"$HERE/stop.sh"' EXIT
echo "[real-apiserver] KUBECONFIG=$KUBECONFIG" >&2
# Say so while the controller harness cannot use a real server: its passes prove nothing here.
if [[ -d test/integration/controller ]] && ! grep -q KUBECONFIG test/support/cluster.ts 2>/dev/null; then
  echo "[real-apiserver] note: test/support/cluster.ts ignores KUBECONFIG, so the controller" \
    "integration tests run against the emulator, not this server" >&2
fi
npx mocha "${specs[@]}"
