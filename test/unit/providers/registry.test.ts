import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ProviderConfigError,
  ProviderStartError,
  UnknownProviderError,
} from '../../../contract/errors.js';
import type { ProviderOptions } from '../../../contract/provider.js';
import { providerSpecifierError } from '../../../contract/provider-specifier.js';
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

/** The source of the smallest object that is a provider, for plugin files written by tests. */
function minimalProvider(name: string): string {
  return `{ name: '${name}', capabilities: { protocols: ['TCP'] }, callBudgets: { default: { qps: 1, burst: 1, concurrency: 1 } },
    loadBalancerName: () => 'lb', validateService: () => [], getLoadBalancer: async () => undefined,
    ensureLoadBalancer: async () => ({ ingress: [] }), updateLoadBalancerHosts: async () => {}, ensureLoadBalancerDeleted: async () => {} }`;
}

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
    await assert.rejects(
      createProvider('no-such-provider-package', options()),
      UnknownProviderError,
    );
    registerProvider('broken', async () => {
      throw new Error('no credentials');
    });
    await assert.rejects(
      createProvider('broken', options()),
      (err: unknown) => err instanceof ProviderStartError && /no credentials/.test(err.message),
    );
  });

  it('passes a bad cloud-config through as a config error naming the key', async () => {
    await assert.rejects(
      createProvider('fake', options({ latencyMS: 5 })),
      (err: unknown) =>
        (err as Error).name === ProviderConfigError.name &&
        (err as ProviderConfigError).key.includes('latencyMS'),
    );
  });

  it('loads a plugin by path, through its default export', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-lbc-plugin-'));
    const file = join(dir, 'plugin.mjs');
    writeFileSync(file, `export default async () => (${minimalProvider('plugin-by-path')});\n`);
    const p = await createProvider(file, options());
    assert.equal(p.name, 'plugin-by-path');
  });

  it('reports a plugin that exists but fails to load as failing to start, not as unknown', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-lbc-plugin-'));
    const throwing = join(dir, 'throws.mjs');
    writeFileSync(throwing, `throw new Error('plugin init exploded');\n`);
    const missingDep = join(dir, 'needs-dep.mjs');
    writeFileSync(
      missingDep,
      `import 'kube-lbc-no-such-dependency';\nexport default async () => ({});\n`,
    );
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
    await assert.rejects(
      createProvider(file, options()),
      (err: unknown) =>
        err instanceof UnknownProviderError &&
        /exports no provider factory/.test(String((err as Error).cause)),
    );
  });

  const refusedSpecifiers = [
    ['a data: URL', 'data:text/javascript,export default () => null'],
    ['an http: URL', 'http://127.0.0.1:1/plugin.js'],
    ['a file: URL', 'file:///tmp/plugin.mjs'],
    ['a node: built-in', 'node:child_process'],
    ['a bare Node built-in', 'child_process'],
    ['a bare Node built-in subpath', 'fs/promises'],
    ['a name with upper case', 'Kube-LBC-Provider'],
  ];
  for (const [desc, name] of refusedSpecifiers) {
    it(`refuses ${desc} as a provider, before importing anything`, async () => {
      await assert.rejects(
        createProvider(name!, options()),
        (err: unknown) =>
          err instanceof UnknownProviderError &&
          /neither a provider name|Node\.js built-in/.test(String(err.cause)),
      );
      assert.match(
        providerSpecifierError(name!) ?? '',
        /neither a provider name|Node\.js built-in/,
      );
    });
  }

  it('takes package names, scoped names and paths as provider specifiers', () => {
    for (const name of [
      'aws',
      'kube-lbc-provider-x',
      '@org/provider',
      '@org/provider/sub',
      './plugin.js',
      '/opt/plugin.mjs',
    ]) {
      assert.equal(providerSpecifierError(name), undefined, name);
    }
  });

  const notProviders = [
    ['null', 'null', /its factory returned null, not a provider object/],
    ['a number', '42', /its factory returned number/],
    [
      'an object without methods',
      "{ name: 'half', capabilities: { protocols: ['TCP'] }, callBudgets: { default: {} } }",
      /without loadBalancerName, validateService, getLoadBalancer, ensureLoadBalancer/,
    ],
    ['an object without a name', '{}', /without a name/],
  ] as const;
  for (const [desc, value, message] of notProviders) {
    it(`names the plugin and what is wrong when its factory returns ${desc}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'kube-lbc-plugin-'));
      const file = join(dir, 'wrong.mjs');
      writeFileSync(file, `export default async () => (${value});\n`);
      await assert.rejects(createProvider(file, options()), (err: unknown) => {
        assert.ok(err instanceof ProviderStartError, String(err));
        assert.match(err.message, /wrong\.mjs" failed to start/);
        assert.match(err.message, message);
        return true;
      });
    });
  }

  it('gives up on a factory that never answers at the start-up deadline, naming the plugin', async () => {
    registerProvider('never-answers', () => new Promise(() => {}));
    await assert.rejects(
      createProvider('never-answers', options(), { startDeadlineMs: 20 }),
      (err: unknown) =>
        err instanceof ProviderStartError &&
        /"never-answers" failed to start: its factory had not returned a provider after 0.02 s/.test(
          err.message,
        ),
    );
  });
});
