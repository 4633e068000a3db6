import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProviderConfigError, ProviderStartError, UnknownProviderError } from '../../../contract/errors.js';
import type { ProviderOptions } from '../../../contract/provider.js';
import { createProvider, registerProvider } from '../../../providers/registry.js';
import { CloudCallGate } from '../../../runtime/cloud-calls.js';
import { noopLogger } from '../../../contract/logger.js';

const options = (config: Record<string, unknown> = {}): ProviderOptions => ({
  config,
  clusterName: 'test',
  logger: noopLogger,
  cloudCalls: new CloudCallGate(),
  cluster: { services: () => [], nodes: () => [] },
});

describe('provider registry', () => {
  it('creates a built-in by name', async () => {
    const p = await createProvider('fake', options());
    assert.equal(p.name, 'fake');
  });

  it('refuses to register a name twice, built-ins included', () => {
    registerProvider('twice', async () => {
      throw new Error('unused');
    });
    assert.throws(() => registerProvider('twice', async () => ({}) as never), /already registered/);
    assert.throws(() => registerProvider('aws', async () => ({}) as never), /already registered/);
  });

  it('tells an unknown provider apart from one that failed to start', async () => {
    await assert.rejects(createProvider('no-such-provider-package', options()), UnknownProviderError);
    registerProvider('broken', async () => {
      throw new Error('no credentials');
    });
    await assert.rejects(createProvider('broken', options()), (err: unknown) => err instanceof ProviderStartError && /no credentials/.test(err.message));
  });

  it('passes a bad cloud-config through as a config error naming the key', async () => {
    await assert.rejects(createProvider('fake', options({ latencyMS: 5 })), (err: unknown) => (err as Error).name === ProviderConfigError.name && (err as ProviderConfigError).key.includes('latencyMS'));
  });

  it('loads a plugin by path, through its default export', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-lbc-plugin-'));
    const file = join(dir, 'plugin.mjs');
    writeFileSync(file, `export default async () => ({ name: 'plugin-by-path' });\n`);
    const p = await createProvider(file, options());
    assert.equal(p.name, 'plugin-by-path');
  });

  it('reports a plugin that exists but fails to load as failing to start, not as unknown', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-lbc-plugin-'));
    const throwing = join(dir, 'throws.mjs');
    writeFileSync(throwing, `throw new Error('plugin init exploded');\n`);
    const missingDep = join(dir, 'needs-dep.mjs');
    writeFileSync(missingDep, `import 'kube-lbc-no-such-dependency';\nexport default async () => ({});\n`);
    for (const [file, cause] of [
      [throwing, /plugin init exploded/],
      [missingDep, /kube-lbc-no-such-dependency/],
    ] as const) {
      await assert.rejects(
        createProvider(file, options()),
        (err: unknown) => err instanceof ProviderStartError && cause.test(err.message),
        file,
      );
    }
    await assert.rejects(createProvider(join(dir, 'absent.mjs'), options()), UnknownProviderError);
  });

  it('says what is wrong with a module that exports no factory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-lbc-plugin-'));
    const file = join(dir, 'empty.mjs');
    writeFileSync(file, `export const nothing = 1;\n`);
    await assert.rejects(createProvider(file, options()), (err: unknown) => err instanceof UnknownProviderError && /exports no provider factory/.test(String((err as Error).cause)));
  });
});
