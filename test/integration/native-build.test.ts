/**
 * Installing never fails for the native relay: `npm ci` does not build it, and its build
 * (`npm run build:native`, run by `make native`, CI and the image) exits 0 where it cannot build,
 * saying the local balancer relays in JavaScript. The builds here are of copies in a temporary
 * folder, so the checkout's own build is left alone.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;
const sources = join(root, 'native/splice-relay');

describe('the native relay build', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'splice-relay-'));
    for (const file of ['binding.gyp', 'relay.c'])
      copyFileSync(join(sources, file), join(dir, file));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const built = () => existsSync(join(dir, 'build/Release/splice_relay.node'));
  const buildNative = (env: NodeJS.ProcessEnv) =>
    run('npm', ['run', '--silent', 'build:native', '--', dir], {
      cwd: root,
      env: { ...process.env, ...env },
    });

  it('is not part of npm ci: no install script, and no binding.gyp at the root', () => {
    const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) {
      assert.equal(scripts[hook], undefined, hook);
    }
    // npm runs `node-gyp rebuild` on install by itself for a package with one there.
    assert.equal(existsSync(join(root, 'binding.gyp')), false);
  });

  it('exits 0 without a working compiler, and says the JavaScript relay will serve', async function () {
    if (process.platform !== 'linux') this.skip();
    const { stdout } = await buildNative({ CC: '/bin/false', CXX: '/bin/false' });
    assert.match(
      stdout,
      /^native relay not built \(node-gyp exited with 1; see above\): the local balancer relays in JavaScript$/m,
    );
    assert.equal(built(), false);
  });

  it('builds nothing with KUBE_LBC_SKIP_NATIVE=1', async () => {
    const { stdout } = await buildNative({ KUBE_LBC_SKIP_NATIVE: '1' });
    assert.equal(
      stdout.trim(),
      'native relay not built (KUBE_LBC_SKIP_NATIVE=1): the local balancer relays in JavaScript',
    );
    assert.equal(built(), false);
  });
});
