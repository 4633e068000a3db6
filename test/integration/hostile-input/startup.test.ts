/**
 * The hostile-input catalogue, start-up: one row per kind of bad flag, cloud-config and plugin.
 * Flag and cloud-config rows are run through the real `kube-lbc run` command line, checking the
 * exit code (2) and the line it prints; nothing is bound or started for any of them, so no
 * Service is touched. Plugin rows go through the registry, checking the error and the exit code
 * the command gives it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProviderStartError, UnknownProviderError } from '../../../contract/errors.js';
import { noopLogger } from '../../../contract/logger.js';
import { createProvider } from '../../../providers/registry.js';
import { CloudCallGate } from '../../../runtime/cloud-calls.js';

const entry = new URL('../../../cmd/kube-lbc.ts', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'kube-lbc-hostile-'));
const kubeconfig = join(dir, 'kubeconfig');
writeFileSync(
  kubeconfig,
  'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:1"}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {}}]\ncurrent-context: c\n',
);

interface StartRow {
  readonly kind: string;
  readonly args: readonly string[];
  /** The line printed on stderr. */
  readonly line: RegExp;
}

const fileRow = (kind: string, provider: string, text: string, line: RegExp): StartRow => {
  const path = join(dir, `${kind.replace(/\W+/g, '-')}.yaml`);
  writeFileSync(path, text);
  return { kind, args: ['--cloud-provider', provider, '--cloud-config', path], line };
};

export const flagRows: StartRow[] = [
  {
    kind: 'an unknown option',
    args: ['--cloud-provider', 'fake', '--bogus'],
    line: /"--bogus": unknown option/,
  },
  {
    kind: 'a stray argument',
    args: ['--cloud-provider', 'fake', 'extra'],
    line: /"extra": unexpected argument/,
  },
  { kind: 'no --cloud-provider', args: [], line: /--cloud-provider: required/ },
  {
    kind: 'a data: URL provider',
    args: ['--cloud-provider', 'data:text/javascript,export default 1'],
    line: /--cloud-provider: "data:.*" is neither a provider name/,
  },
  {
    kind: 'a node: built-in provider',
    args: ['--cloud-provider', 'node:child_process'],
    line: /--cloud-provider: "node:child_process" is neither a provider name, a package name nor a path/,
  },
  {
    kind: 'a bare built-in provider',
    args: ['--cloud-provider', 'fs'],
    line: /--cloud-provider: "fs" is a Node\.js built-in module/,
  },
  {
    kind: 'a duration past the timer limit',
    args: ['--cloud-provider', 'fake', '--node-sync-period', '600h'],
    line: /--node-sync-period: .*up to 596h, got "600h"/,
  },
  {
    kind: 'a duration that is no duration',
    args: ['--cloud-provider', 'fake', '--gc-period', 'weekly'],
    line: /--gc-period: expected a duration .*got "weekly"/,
  },
  {
    kind: 'a count in exponent form',
    args: ['--cloud-provider', 'fake', '--concurrent-service-syncs', '1e3'],
    line: /--concurrent-service-syncs: expected an integer from 1 to 10000, got "1e3"/,
  },
  {
    kind: 'an infinite QPS',
    args: ['--cloud-provider', 'fake', '--cloud-qps', 'Infinity'],
    line: /--cloud-qps: expected a number above 0 and up to 100000, got "Infinity"/,
  },
  {
    kind: 'a fractional burst',
    args: ['--cloud-provider', 'fake', '--cloud-burst', '2.5'],
    line: /--cloud-burst: expected an integer above 0 and up to 100000, got "2.5"/,
  },
  {
    kind: 'an unbracketed IPv6 bind address',
    args: ['--cloud-provider', 'fake', '--metrics-bind-address', '::1:8080'],
    line: /--metrics-bind-address: expected host:port/,
  },
  {
    kind: 'a 10 KB cluster name',
    args: ['--cloud-provider', 'fake', '--cluster-name', 'y'.repeat(10_000)],
    line: /--cluster-name: "y{80}\.\.\.\(9920 more characters\)" must be/,
  },
  {
    kind: 'a log format with a line break',
    args: ['--cloud-provider', 'fake', '--log-format', 'json\nINFO forged'],
    line: /--log-format: expected one of json, text, got "json\\nINFO forged"/,
  },
  {
    kind: 'an unreadable kubeconfig',
    args: ['--cloud-provider', 'fake', '--kubeconfig', join(dir, 'nope')],
    line: /--kubeconfig: cannot load a kubeconfig from ".*nope"/,
  },
];

export const cloudConfigRows: StartRow[] = [
  fileRow(
    'a local idle timeout of .inf',
    'local',
    'addresses: [127.240.0.0/24]\ntcpIdleTimeoutSeconds: .inf\n',
    /tcpIdleTimeoutSeconds: expected a number from 0\.01 to 2147483, got Infinity/,
  ),
  fileRow(
    'a local UDP idle timeout of .nan',
    'local',
    'addresses: [127.240.0.0/24]\nudpIdleTimeoutSeconds: .nan\n',
    /udpIdleTimeoutSeconds: expected a number from 0\.01 to 2147483, got NaN/,
  ),
  fileRow(
    'a health-check interval past the timer limit',
    'local',
    'addresses: [127.240.0.0/24]\nhealthCheck: { intervalSeconds: 2147484 }\n',
    /healthCheck\.intervalSeconds: expected a number from 0\.01 to 2147483/,
  ),
  fileRow(
    'a fractional connection limit',
    'local',
    'addresses: [127.240.0.0/24]\nmaxConnections: 0.5\n',
    /maxConnections: expected an integer from 1 to 1000000, got 0\.5/,
  ),
  fileRow(
    'a fractional threshold',
    'local',
    'addresses: [127.240.0.0/24]\nhealthCheck: { unhealthyThreshold: 1.5 }\n',
    /healthCheck\.unhealthyThreshold: expected an integer from 1 to 100/,
  ),
  fileRow(
    'a pool of 0.0.0.0/0',
    'local',
    'addresses: [0.0.0.0/0]\n',
    /addresses\[0\]: "0\.0\.0\.0\/0" holds 4294967294 addresses/,
  ),
  fileRow(
    'a multicast pool',
    'local',
    'addresses: [224.0.0.0/24]\n',
    /addresses\[0\]: "224\.0\.0\.0\/24" overlaps/,
  ),
  fileRow('an empty pool', 'local', 'addresses: []\n', /addresses: expected a non-empty list/),
  fileRow(
    'a typo in a local key',
    'local',
    'addresses: [127.240.0.0/24]\nmaxConnection: 5\n',
    /maxConnection: unknown key \(known: addresses, mode/,
  ),
  fileRow(
    'an unknown mode',
    'local',
    'addresses: [127.240.0.0/24]\nmode: agent\n',
    /mode: expected one of in-process, controller, got "agent"/,
  ),
  fileRow(
    'a credential in the aws file',
    'aws',
    'secretAccessKey: AKIAS3CR3T\n',
    /secretAccessKey: credentials are not read from the cloud-config/,
  ),
  fileRow(
    'a region that is no region',
    'aws',
    'region: Mars\n',
    /region: expected an AWS region name such as eu-west-1, got "Mars"/,
  ),
  fileRow(
    'an endpoint that is no URL',
    'aws',
    'endpoint: ftp://x\n',
    /endpoint: expected an http\(s\) URL/,
  ),
  fileRow(
    'a fake latency of .inf',
    'fake',
    'latencyMs: .inf\n',
    /latencyMs: expected a number from 0 to 2147483000, got Infinity/,
  ),
  fileRow(
    'a failure rate above 1',
    'fake',
    'failureRate: 2\n',
    /failureRate: expected a number from 0 to 1, got 2/,
  ),
  fileRow(
    'a malformed file holding a secret',
    'aws',
    'region: eu-west-1\ntoken: "AKIAS3CR3T\n',
    /--cloud-config: ".*" is not valid YAML or JSON: line \d+, column \d+ \([A-Z_]+\)$/m,
  ),
  fileRow(
    'a file that is a list',
    'local',
    '- 127.240.0.0/24\n',
    /must hold a mapping of keys to values/,
  ),
];

function kubeLbcRun(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', entry, 'run', '--kubeconfig', kubeconfig, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d));
  child.stderr.on('data', (d: Buffer) => (output += d));
  return once(child, 'exit').then(([code]) => ({ code: code as number | null, output }));
}

const options = () => ({
  config: {},
  clusterName: 'test',
  logger: noopLogger,
  cloudCalls: new CloudCallGate(),
  cluster: { services: () => [], nodes: () => [] },
});

interface PluginRow {
  readonly kind: string;
  /** The plugin module's source. */
  readonly source?: string;
  /** Or a specifier given as is. */
  readonly specifier?: string;
  readonly error: typeof ProviderStartError | typeof UnknownProviderError;
  readonly message: RegExp;
}

export const pluginRows: PluginRow[] = [
  {
    kind: 'a factory returning null',
    source: 'export default async () => null;',
    error: ProviderStartError,
    message: /failed to start: its factory returned null, not a provider object/,
  },
  {
    kind: 'a factory returning a string',
    source: "export default async () => 'aws';",
    error: ProviderStartError,
    message: /its factory returned string, not a provider object/,
  },
  {
    kind: 'a factory returning half a provider',
    source:
      "export default async () => ({ name: 'half', capabilities: { protocols: ['TCP'] }, callBudgets: { default: {} }, ensureLoadBalancer() {} });",
    error: ProviderStartError,
    message:
      /without loadBalancerName, validateService, getLoadBalancer, updateLoadBalancerHosts, ensureLoadBalancerDeleted/,
  },
  {
    kind: 'a factory that never answers',
    source: 'export default () => new Promise(() => {});',
    error: ProviderStartError,
    message: /its factory had not returned a provider after 0\.05 s/,
  },
  {
    kind: 'a factory that throws',
    source: "export default async () => { throw new Error('no credentials'); };",
    error: ProviderStartError,
    message: /failed to start: no credentials/,
  },
  {
    kind: 'a module that throws on load',
    source: "throw new Error('plugin init exploded');",
    error: ProviderStartError,
    message: /plugin init exploded/,
  },
  {
    kind: 'a module with no factory',
    source: 'export const nothing = 1;',
    error: UnknownProviderError,
    message: /unknown provider/,
  },
  {
    kind: 'a path that is not there',
    specifier: join(dir, 'absent.mjs'),
    error: UnknownProviderError,
    message: /unknown provider ".*absent\.mjs"/,
  },
  {
    kind: 'an http: URL',
    specifier: 'http://127.0.0.1:1/p.mjs',
    error: UnknownProviderError,
    message: /unknown provider "http:\/\/127\.0\.0\.1:1\/p\.mjs"/,
  },
];

describe('hostile input: start-up', function () {
  this.timeout(120_000);

  for (const [group, rows] of [
    ['flag', flagRows],
    ['cloud-config', cloudConfigRows],
  ] as const) {
    for (const row of rows) {
      it(`${group}: ${row.kind} exits 2 naming it, before binding anything`, async () => {
        const { code, output } = await kubeLbcRun(row.args);
        assert.equal(code, 2, output);
        assert.match(output, row.line);
        assert.ok(!output.includes('AKIAS3CR3T'), `a secret reached stderr: ${output}`);
        assert.ok(output.length < 2000, `${output.length} characters of output`);
        assert.ok(
          output.split('\n').every((line) => line === '' || line.startsWith('kube-lbc: ')),
          `a line not from kube-lbc: ${output}`,
        );
      });
    }
  }

  pluginRows.forEach((row, i) => {
    it(`plugin: ${row.kind} is refused naming the plugin and what it did wrong`, async () => {
      let specifier = row.specifier;
      if (row.source !== undefined) {
        specifier = join(dir, `plugin-${i}.mjs`);
        writeFileSync(specifier, `${row.source}\n`);
      }
      await assert.rejects(
        createProvider(specifier!, options(), { startDeadlineMs: 50 }),
        (err: unknown) => {
          assert.ok(err instanceof row.error, String(err));
          assert.match(`${(err as Error).message} ${String((err as Error).cause)}`, row.message);
          if (row.source !== undefined)
            assert.match((err as Error).message, new RegExp(`plugin-${i}\\.mjs`));
          return true;
        },
      );
    });
  });
});
