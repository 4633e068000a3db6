/**
 * The plugin author's path, out of the repository: `npm pack` kube-lbc (its prepack builds
 * dist/), copy docs/example-plugin to a temporary directory with its imports rewritten to
 * `kube-lbc/...`, install the tarball into it, build it with tsc, and run the conformance kit
 * there. These machines reach no registry, so the install is done as npm lays one out: the
 * tarball unpacked into node_modules/kube-lbc, every other package linked from this checkout's
 * node_modules.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const repo = new URL('../../', import.meta.url).pathname;
const SOURCES = [
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'README.md',
  'docs/provider-guide.md',
  'cmd',
  'app',
  'contract',
  'controllers',
  'runtime',
  'providers',
  'sandbox',
];

async function run(
  cmd: string,
  args: string[],
  cwd: string,
): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await exec(cmd, args, { cwd, maxBuffer: 64 << 20 });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number };
    return {
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
      code: typeof e.code === 'number' ? e.code : 1,
    };
  }
}

describe('an out-of-tree plugin against the packed kube-lbc', function () {
  this.timeout(600_000);
  let tmp: string;
  let plugin: string;
  let tarball: string;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'kube-lbc-pack-'));
    // A copy of the sources, so prepack's build writes its dist/ there and not into the checkout.
    const src = join(tmp, 'src');
    for (const entry of SOURCES) cpSync(join(repo, entry), join(src, entry), { recursive: true });
    symlinkSync(join(repo, 'node_modules'), join(src, 'node_modules'));
    const pack = await run('npm', ['pack', '--pack-destination', tmp, '--json'], src);
    assert.equal(pack.code, 0, pack.stderr);
    tarball = join(tmp, (JSON.parse(pack.stdout) as { filename: string }[])[0]!.filename);

    plugin = join(tmp, 'plugin');
    for (const entry of ['src', 'test', 'package.json', 'tsconfig.json', '.mocharc.json']) {
      cpSync(join(repo, 'docs/example-plugin', entry), join(plugin, entry), { recursive: true });
    }
    for (const dir of ['src', 'test']) {
      for (const file of readdirSync(join(plugin, dir))) {
        const path = join(plugin, dir, file);
        const text = readFileSync(path, 'utf8')
          .replace(/'(?:\.\.\/)+contract\/([a-z-]+)\.js'/g, "'kube-lbc/$1'")
          .replace(/'(?:\.\.\/)+providers\/conformance\/index\.js'/g, "'kube-lbc/conformance'");
        writeFileSync(path, text);
      }
    }
    const modules = join(plugin, 'node_modules');
    mkdirSync(join(modules, 'kube-lbc'), { recursive: true });
    const untar = await run(
      'tar',
      ['-xzf', tarball, '-C', join(modules, 'kube-lbc'), '--strip-components', '1'],
      tmp,
    );
    assert.equal(untar.code, 0, untar.stderr);
    for (const entry of readdirSync(join(repo, 'node_modules'))) {
      if (!existsSync(join(modules, entry)))
        symlinkSync(join(repo, 'node_modules', entry), join(modules, entry));
    }
  });

  it('packs dist/ built by prepack, the guide and the README, and no tests or sources', async () => {
    const list = await run('tar', ['-tzf', tarball], tmp);
    const files = list.stdout.split('\n').filter(Boolean);
    assert.ok(files.includes('package/dist/contract/provider.js'));
    assert.ok(files.includes('package/dist/contract/provider.d.ts'));
    assert.ok(files.includes('package/dist/cmd/kube-lbc.js'));
    assert.ok(files.includes('package/docs/provider-guide.md'));
    assert.deepEqual(
      files.filter((f) => /\.ts$/.test(f) && !/\.d\.ts$/.test(f)),
      [],
    );
    assert.deepEqual(
      files.filter((f) => /^package\/(dist\/)?(test|bench)\//.test(f)),
      [],
    );
  });

  it('builds with tsc: every type its signatures need and the test helpers are exported', async () => {
    // Beside the example's own sources, a file naming what a plugin's signatures use.
    writeFileSync(
      join(plugin, 'src', 'signatures.ts'),
      [
        "import type { CallBudget, CallContext, CloudCalls, ClusterView, Logger, ProviderOptions, V1LoadBalancerIngress, V1Node, V1Service } from 'kube-lbc/provider';",
        "import { noopLogger, testCallContext, testCloudCalls, testClusterView } from 'kube-lbc/testing';",
        "import { sourceRangesOf } from 'kube-lbc/service-spec';",
        'export type Used = [CallBudget, CallContext, CloudCalls, ClusterView, Logger, ProviderOptions, V1LoadBalancerIngress, V1Node, V1Service];',
        'export const ctx: CallContext = testCallContext();',
        "export const options: ProviderOptions = { config: {}, clusterName: 'c', logger: noopLogger, cloudCalls: testCloudCalls(), cluster: testClusterView() };",
        'export const ranges = sourceRangesOf;',
        '',
      ].join('\n'),
    );
    const tsc = await run(
      process.execPath,
      [join(plugin, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'],
      plugin,
    );
    assert.doesNotMatch(tsc.stdout, /TS2459/);
    assert.equal(tsc.code, 0, tsc.stdout);
    assert.ok(existsSync(join(plugin, 'dist', 'index.js')));
  });

  it('passes the conformance kit', async () => {
    const mocha = await run(
      process.execPath,
      [join(plugin, 'node_modules/mocha/bin/mocha.js')],
      plugin,
    );
    assert.equal(mocha.code, 0, mocha.stdout + mocha.stderr);
    assert.match(mocha.stdout, /\d+ passing/);
    assert.doesNotMatch(mocha.stdout, /failing/);
  });

  it('loads as `--cloud-provider .` from its own directory with the installed kube-lbc', async () => {
    // With no cloud-config the plugin refuses to start, naming its required key: it was found.
    const out = await run(
      process.execPath,
      [
        'node_modules/kube-lbc/dist/cmd/kube-lbc.js',
        'sandbox',
        '--cloud-provider',
        '.',
        '--port',
        '0',
        '--exit-after-demo',
        '--kubeconfig-out',
        join(tmp, 'kubeconfig'),
      ],
      plugin,
    );
    assert.equal(out.code, 2, out.stdout + out.stderr);
    assert.match(out.stderr, /^kube-lbc: --cloud-provider\/--cloud-config: .*addresses/m);
  });
});
