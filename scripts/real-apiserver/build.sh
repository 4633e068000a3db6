#!/usr/bin/env bash
# Builds a real kube-apiserver (Kubernetes 1.20, Debian's source package) into
# .cache/real-apiserver/bin, so the contract suite can be checked against the real thing.
# Cached: a second run with the binary present does nothing. Needs root for apt-get.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${REAL_APISERVER_CACHE:-$ROOT/.cache/real-apiserver}"
BIN="$CACHE/bin/kube-apiserver"
GO_ROOT=/usr/lib/go-1.22
SOURCES_FILE=/etc/apt/sources.list.d/kube-lbc-real-apiserver.sources
# Two cores are shared with other work: build politely.
NICE=(nice -n "${REAL_APISERVER_NICE:-15}")

log() { printf '[real-apiserver build] %s\n' "$*" >&2; }

# Bump when the recipe changes what gets built, so an older cached binary is rebuilt.
RECIPE=2
if [[ -x "$BIN" && "$(cat "$BIN.recipe" 2>/dev/null)" == "$RECIPE" && "${1:-}" != "--force" ]]; then
  log "cached: $BIN"
  exit 0
fi

has_apt_line() { # $1 = type (deb|deb-src), $2 = suite; one-line and deb822 files alike
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    grep -qE "^$1 [^#]* $2( |$)" "$f" && return 0
    # deb822: a stanza naming both the type and the suite (blank lines separate stanzas).
    awk -v t="$1" -v s="$2" 'BEGIN { RS = "" }
      $0 ~ "(^|\n)Types:([^\n]* )?" t "( |\n|$)" && $0 ~ "(^|\n)Suites:([^\n]* )?" s "( |\n|$)" { found = 1 }
      END { exit !found }' "$f" && return 0
  done
  return 1
}

ensure_apt_sources() {
  local wrote=0
  if ! has_apt_line deb-src bookworm || ! has_apt_line deb bookworm-backports; then
    log "adding deb-src bookworm and bookworm-backports to $SOURCES_FILE"
    cat >"$SOURCES_FILE" <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    wrote=1
  fi
  # apt-cache knows nothing of the source package until the lists are fetched.
  if [[ $wrote == 1 ]] || ! apt-cache showsrc kubernetes 2>/dev/null | grep -q '^Version: 1\.20'; then
    apt-get update
  fi
}

ensure_packages() {
  local missing=()
  dpkg -s golang-1.22-go >/dev/null 2>&1 || missing+=(golang-1.22-go)
  dpkg -s etcd-server >/dev/null 2>&1 || missing+=(etcd-server)
  local pkg
  for pkg in dpkg-dev rsync make golang-github-modern-go-reflect2-dev; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -t bookworm-backports "${missing[@]}"
  fi
}

fetch_source() {
  mkdir -p "$CACHE/src"
  SRC_DIR="$(find "$CACHE/src" -maxdepth 1 -type d -name 'kubernetes-1.20*' | head -n1)"
  if [[ -z "$SRC_DIR" ]]; then
    log "apt-get source kubernetes"
    (cd "$CACHE/src" && apt-get source kubernetes)
    SRC_DIR="$(find "$CACHE/src" -maxdepth 1 -type d -name 'kubernetes-1.20*' | head -n1)"
  fi
  [[ -n "$SRC_DIR" ]] || { log "no kubernetes-1.20* directory after apt-get source"; exit 1; }
}

# Kubernetes 1.20 vendors modern-go/reflect2 1.0.1, which reads Go runtime internals that changed
# in Go 1.18: built with Go 1.22 the server panics (nil pointer in reflect2.Type2, answered as a
# dropped connection) when decoding some JSON bodies, e.g. POST /api/v1/namespaces. 1.0.2 fixed
# that without changing its API; Debian packages it, so swap it into vendor/.
patch_vendor() {
  local vendored="$SRC_DIR/vendor/github.com/modern-go/reflect2"
  local fixed=/usr/share/gocode/src/github.com/modern-go/reflect2
  [[ -f "$vendored/go_above_118.go" ]] && return 0
  log "vendor: modern-go/reflect2 1.0.1 -> $(dpkg-query -W -f '${Version}' golang-github-modern-go-reflect2-dev) (Go 1.18+ fix)"
  find "$vendored" -maxdepth 1 -name '*.go' -delete
  cp "$fixed"/*.go "$vendored/"
}

build() {
  # GOPATH mode (1.20 predates a usable go.mod build of the main repo): the tree must sit
  # at $GOPATH/src/k8s.io/kubernetes, and vendor/ supplies every dependency.
  local gopath="$CACHE/gopath"
  mkdir -p "$gopath/src/k8s.io" "$CACHE/bin"
  ln -sfn "$SRC_DIR" "$gopath/src/k8s.io/kubernetes"
  export PATH="$GO_ROOT/bin:$PATH" GO111MODULE=off GOPATH="$gopath" GOFLAGS= CGO_ENABLED=0
  export GOCACHE="$CACHE/gocache" HOME="${HOME:-/root}"
  log "go: $(go version)"

  cd "$gopath/src/k8s.io/kubernetes"
  if [[ ! -s pkg/generated/openapi/zz_generated.openapi.go ]]; then
    log "make gen_openapi"
    "${NICE[@]}" make gen_openapi
  fi
  log "go build ./cmd/kube-apiserver"
  "${NICE[@]}" go build -trimpath -ldflags "-s -w $(version_ldflags)" -o "$BIN.tmp" ./cmd/kube-apiserver
  mv "$BIN.tmp" "$BIN"
  echo "$RECIPE" >"$BIN.recipe"
  log "built $BIN ($("$BIN" --version))"
}

# Without these the binary reports v0.0.0 and clients that gate on the server version misjudge
# it. /version is answered by the aggregator, which reads client-go's copy, hence both.
version_ldflags() {
  local v pkg
  v="v$(basename "$SRC_DIR" | sed -E 's/^kubernetes-.*really//')"
  for pkg in component-base/version client-go/pkg/version; do
    pkg="k8s.io/kubernetes/vendor/k8s.io/$pkg"
    printf -- '-X %s.gitVersion=%s -X %s.gitMajor=1 -X %s.gitMinor=20 -X %s.gitTreeState=clean ' \
      "$pkg" "$v" "$pkg" "$pkg" "$pkg"
  done
}

ensure_apt_sources
ensure_packages
fetch_source
patch_vendor
build
