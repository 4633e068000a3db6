#!/bin/sh
# The production install's size, as the image's deps stage makes it: `npm ci --omit=dev` into a
# temporary directory, then deploy/trim-node-modules.sh. Prints both figures and the largest
# packages. Needs the registry (or an npm cache holding the lockfile's packages: add --offline).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$root/package.json" "$root/package-lock.json" "$dir/"
(cd "$dir" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund "$@" >/dev/null)
echo "npm ci --omit=dev: $(du -sh "$dir/node_modules" | cut -f1)"
sh "$root/deploy/trim-node-modules.sh" "$dir/node_modules"
echo "trimmed (the image's node_modules): $(du -sh "$dir/node_modules" | cut -f1)"
echo "largest, trimmed:"
(cd "$dir/node_modules" && du -sh @*/* [!@]* 2>/dev/null | sort -rh | head -6)
