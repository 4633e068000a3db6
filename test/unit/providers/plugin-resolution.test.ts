import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noopLogger } from '../../../contract/logger.js';
import type { ProviderOptions } from '../../../contract/provider.js';
import { createProvider } from '../../../providers/registry.js';
import { CloudCallGate } from '../../../runtime/cloud-calls.js';

const options: ProviderOptions = {
  config: {},
  clusterName: 'test',
  logger: noopLogger,
  cloudCalls: new CloudCallGate(),
  cluster: { services: () => [], nodes: () => [] },
};

/** An ESM package whose entry is reachable only through its `exports` import condition. */
function writePlugin(dir: string, name: string, providerName: string): void {
  mkdirSync(join(dir, 'dist'), { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name, type: 'module', exports: { '.': { import: './dist/index.js' } } }),
  );
  writeFileSync(
    join(dir, 'dist', 'index.js'),
    // The smallest object the registry takes for a provider (providers/guard.ts notAProvider).
    `export const createProvider = async () => ({
      name: '${providerName}',
      capabilities: { protocols: ['TCP'] },
      callBudgets: { default: { qps: 1, burst: 1, concurrency: 1 } },
      loadBalancerName: () => 'lb',
      validateService: () => [],
      getLoadBalancer: async () => undefined,
      ensureLoadBalancer: async () => ({ ingress: [] }),
      updateLoadBalancerHosts: async () => {},
      ensureLoadBalancerDeleted: async () => {},
    });\n`,
  );
}

/** Runs `fn` with the working directory at `dir`, as a user running kube-lbc from there. */
async function inDirectory<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const before = process.cwd();
  process.chdir(dir);
  try {
    return await fn();
  } finally {
    process.chdir(before);
  }
}

describe('plugin resolution', () => {
  it("finds a package name in the working directory's node_modules, from a subfolder too", async () => {
    const project = mkdtempSync(join(tmpdir(), 'kube-lbc-project-'));
    writePlugin(
      join(project, 'node_modules', 'kube-lbc-plugin-from-cwd'),
      'kube-lbc-plugin-from-cwd',
      'from-cwd',
    );
    mkdirSync(join(project, 'config'));
    const provider = await inDirectory(join(project, 'config'), () =>
      createProvider('kube-lbc-plugin-from-cwd', options),
    );
    assert.equal(provider.name, 'from-cwd');
  });

  it('loads `.` and `./dir` as the package in that directory, through its package.json', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-lbc-plugin-dir-'));
    writePlugin(join(dir, 'my-plugin'), 'my-plugin', 'by-directory');
    assert.equal(
      (await inDirectory(join(dir, 'my-plugin'), () => createProvider('.', options))).name,
      'by-directory',
    );
    assert.equal(
      (await inDirectory(dir, () => createProvider('./my-plugin', options))).name,
      'by-directory',
    );
  });

  it("falls back to kube-lbc's own install for a name the working directory does not have", async () => {
    const empty = mkdtempSync(join(tmpdir(), 'kube-lbc-empty-'));
    // `yaml` is one of kube-lbc's own dependencies: found there, though it is no provider.
    await assert.rejects(
      inDirectory(empty, () => createProvider('yaml', options)),
      (err: Error) =>
        /exports no provider factory/.test(String((err.cause as Error | undefined)?.message)),
    );
  });
});
