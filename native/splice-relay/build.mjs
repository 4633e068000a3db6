#!/usr/bin/env node
// Builds the native relay (`npm run build:native`, which `make native`, CI and the image run).
// It never fails: without a compiler, Python or Node's headers, or off Linux, it prints one line
// saying so and exits 0, and the local balancer relays in JavaScript (providers/local/
// native-relay.ts says why at start). KUBE_LBC_SKIP_NATIVE=1 skips it. The argument is the
// folder with binding.gyp (this one by default; tests and scripts/test-node-versions.sh build
// copies elsewhere). Needs npm's node-gyp: run it through `npm run`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = resolve(process.argv[2] ?? dirname(fileURLToPath(import.meta.url)));
const fallback = 'the local balancer relays in JavaScript';

function notBuilt(why) {
  console.log(`native relay not built (${why}): ${fallback}`);
  process.exit(0);
}

if (process.env.KUBE_LBC_SKIP_NATIVE === '1') notBuilt('KUBE_LBC_SKIP_NATIVE=1');
if (process.platform !== 'linux') notBuilt(`not on Linux (${process.platform})`);
const nodeGyp = process.env.npm_config_node_gyp;
if (!nodeGyp || !existsSync(nodeGyp))
  notBuilt("npm's node-gyp not found: run `npm run build:native`");

// The running Node's own headers, where its install has them, so nothing is downloaded (these
// machines reach no nodejs.org); node-gyp fetches them itself otherwise.
const prefix = dirname(dirname(process.execPath));
const nodedir = existsSync(join(prefix, 'include/node/node_api.h')) ? [`--nodedir=${prefix}`] : [];
const build = spawnSync(
  process.execPath,
  [nodeGyp, 'rebuild', '-C', dir, ...nodedir, '--loglevel=warn'],
  { stdio: 'inherit' },
);
if (build.error) notBuilt(`node-gyp did not start: ${build.error.message}`);
if (build.status !== 0) notBuilt(`node-gyp exited with ${build.status ?? build.signal}; see above`);
console.log(`native relay built for Node ${process.version}: ${join(dir, 'build/Release')}`);
