/**
 * `kube-lbc run` and `kube-lbc proxy` must not load client-node's index: it brings the whole
 * generated API (57 MiB of resident memory at load, see runtime/cluster-access.ts). A child
 * process imports their modules with a resolve hook that refuses the package's bare name.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

const refuseIndex = `export async function resolve(s, c, next) {
  if (s === '@kubernetes/client-node') throw new Error('client-node index loaded from ' + c.parentURL);
  return next(s, c);
}`;
const register = `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(refuseIndex)}));`;

async function importWithoutIndex(modules: readonly string[]): Promise<string> {
  const script = `for (const m of ${JSON.stringify(modules)}) {
  try { await import(m); } catch (e) { console.log('refused ' + m + ': ' + e.message.split('\\n')[0]); }
}`;
  const { stdout } = await run(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      `data:text/javascript,${encodeURIComponent(register)}`,
      '--input-type=module',
      '-e',
      script,
    ],
    { cwd: new URL('../../..', import.meta.url).pathname },
  );
  return stdout;
}

describe('the modules kube-lbc run loads', function () {
  this.timeout(60_000);

  it('leave out client-node’s index: the run and proxy commands and every built-in provider', async () => {
    const out = await importWithoutIndex([
      './app/run.ts',
      './app/proxy.ts',
      './providers/aws/index.ts',
      './providers/gcp/index.ts',
      './providers/local/index.ts',
      './providers/fake/index.ts',
    ]);
    assert.equal(out, '');
  });

  it('are checked by a hook that does refuse the index (the plan command loads it)', async () => {
    const out = await importWithoutIndex(['./app/plan.ts']);
    assert.match(out, /^refused \.\/app\/plan\.ts: client-node index loaded from /);
  });
});
