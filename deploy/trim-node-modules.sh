#!/bin/sh
# Drops what a production install carries but never loads at run time: type declarations,
# source maps, TypeScript sources and markdown. Used by deploy/Dockerfile and bench/install-size.sh.
set -eu
find "${1:-node_modules}" -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \
  -o -name '*.map' -o -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.md' \) -delete
