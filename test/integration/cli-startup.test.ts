import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = new URL('../../', import.meta.url).pathname;

/** The modules `kube-lbc <args>` loads, and what it printed. */
async function loads(
  args: string[],
): Promise<{ modules: string[]; stdout: string; stderr: string }> {
  const log = join(mkdtempSync(join(tmpdir(), 'kube-lbc-imports-')), 'imports');
  const { stdout, stderr } = await run(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      './test/support/record-imports.mjs',
      'cmd/kube-lbc.ts',
      ...args,
    ],
    { cwd: repo, env: { ...process.env, KUBE_LBC_IMPORT_LOG: log } },
  );
  return { modules: readFileSync(log, 'utf8').split('\n').filter(Boolean), stdout, stderr };
}

describe('kube-lbc --help and --version', function () {
  this.timeout(60_000);
  // What makes a start slow (1.6-3 s when every provider loaded), and the AWS SDK's Node warning.
  const heavy =
    /\/(providers|sandbox|controllers)\/|node_modules\/(@aws-sdk|@smithy|@kubernetes|@google-cloud|pino|prom-client)\//;

  for (const args of [['--help'], ['--version'], ['run', '--help'], ['sandbox', '--help']]) {
    it(`\`kube-lbc ${args.join(' ')}\` loads no provider, controller, sandbox or cloud SDK, and prints no warning`, async () => {
      const { modules, stdout, stderr } = await loads(args);
      assert.ok(
        modules.some((m) => m.endsWith('/cmd/kube-lbc.ts')),
        'the hook saw the command load',
      );
      assert.deepEqual(
        modules.filter((m) => heavy.test(m)),
        [],
      );
      assert.ok(stdout.length > 0);
      assert.equal(stderr, '');
    });
  }
});
