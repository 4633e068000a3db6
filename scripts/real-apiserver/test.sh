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
# Points the controller's test harness (test/support/cluster.ts) at this server, which it empties
# of Services and Nodes between tests; KUBECONFIG alone never does, so a developer's is safe.
export KUBE_LBC_TEST_APISERVER=real
npx mocha "${specs[@]}"
