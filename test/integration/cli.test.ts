import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../../sandbox/apiserver/index.js';

const entry = new URL('../../cmd/kube-lbc.ts', import.meta.url).pathname;

const repoRoot = new URL('../../', import.meta.url).pathname;

function kubeLbc(args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: repoRoot,
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (out += d));
  return { child, output: () => out };
}

async function exitCode(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

/** A kubeconfig whose server nothing answers: enough for the command to get past loading it. */
const unreachableKubeconfig =
  'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:1", insecure-skip-tls-verify: true}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {}}]\ncurrent-context: c\n';

describe('the kube-lbc command', function () {
  this.timeout(60_000);

  it('exits 2 naming every bad flag', async () => {
    const { child, output } = kubeLbc([
      'run',
      '--concurrent-service-syncs',
      '0',
      '--cluster-name',
      'Bad_Name',
    ]);
    assert.equal(await exitCode(child), 2);
    assert.match(output(), /--cloud-provider: required/);
    assert.match(output(), /--concurrent-service-syncs: .*"0"/);
    assert.match(output(), /--cluster-name: "Bad_Name"/);
  });

  it('exits 2 naming every bad input at once: an unknown option hides nothing, and nothing is bound first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-lbc-cli-'));
    writeFileSync(
      join(dir, 'cloud.yaml'),
      'addresses: [127.240.0.0/24]\ntcpIdleTimeoutSeconds: .inf\n',
    );
    // The metrics port is taken: before, that exit 1 hid the bad key; now nothing binds until every input is good.
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const { child, output } = kubeLbc([
        'run',
        '--bogus',
        '--cloud-provider',
        'local',
        '--cloud-config',
        join(dir, 'cloud.yaml'),
        '--kubeconfig',
        join(dir, 'missing-kubeconfig'),
        '--cluster-name',
        'Bad_Name',
        '--node-sync-period',
        '600h',
        '--metrics-bind-address',
        `127.0.0.1:${port}`,
        'stray',
      ]);
      assert.equal(await exitCode(child), 2, output());
      for (const expected of [
        /"--bogus": unknown option/,
        /"stray": unexpected argument/,
        /--cluster-name: "Bad_Name"/,
        /--node-sync-period: .*up to 596h, got "600h"/,
        /--kubeconfig: cannot load a kubeconfig from ".*missing-kubeconfig"/,
        /--cloud-config: cloud-config tcpIdleTimeoutSeconds: expected a number from 0\.01 to 2147483, got Infinity/,
      ]) {
        assert.match(output(), expected);
      }
      assert.doesNotMatch(output(), /EADDRINUSE|cannot serve/);
    } finally {
      taken.close();
    }
  });

  it('exits 2 for a data: URL as --cloud-provider, importing nothing', async () => {
    const { child, output } = kubeLbc([
      'run',
      '--cloud-provider',
      'data:text/javascript,process.exit(7)',
    ]);
    assert.equal(await exitCode(child), 2, output());
    assert.match(
      output(),
      /--cloud-provider: "data:text\/javascript,process.exit\(7\)" is neither a provider name, a package name nor a path/,
    );
  });

  it('exits 2 naming an unknown cloud-config key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-lbc-cli-'));
    writeFileSync(join(dir, 'cloud.yaml'), 'latencyMS: 5\n');
    writeFileSync(join(dir, 'kubeconfig'), unreachableKubeconfig);
    const { child, output } = kubeLbc([
      'run',
      '--cloud-provider',
      'fake',
      '--cloud-config',
      join(dir, 'cloud.yaml'),
      '--kubeconfig',
      join(dir, 'kubeconfig'),
    ]);
    assert.equal(await exitCode(child), 2);
    assert.match(output(), /latencyMS/);
  });

  it('exits 2 naming a --cloud-budget family the provider does not have, and the ones it has', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-lbc-cli-'));
    writeFileSync(join(dir, 'kubeconfig'), unreachableKubeconfig);
    const { child, output } = kubeLbc([
      'run',
      '--cloud-provider',
      'fake',
      '--cloud-budget',
      'describes=5:10',
      '--metrics-bind-address',
      '0',
      '--health-probe-bind-address',
      '0',
      '--kubeconfig',
      join(dir, 'kubeconfig'),
    ]);
    assert.equal(await exitCode(child), 2);
    assert.match(
      output(),
      /--cloud-budget: unknown family "describes" for provider fake \(it has default/,
    );
  });

  it('exits 2 naming a sandbox --port that is not a port, instead of serving on a random one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-lbc-sandbox-'));
    const { child, output } = kubeLbc([
      'sandbox',
      '--port',
      'abc',
      '--no-sample',
      '--exit-after-demo',
      '--kubeconfig-out',
      join(dir, 'kubeconfig'),
    ]);
    assert.equal(await exitCode(child), 2, output());
    assert.match(output(), /--port: .*"abc"/);
  });

  it('proxy: exits 2 naming a bad cloud-config key even when its health port is taken', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-lbc-cli-'));
    writeFileSync(
      join(dir, 'cloud.yaml'),
      'addresses: [127.240.0.0/24]\ntcpIdleTimeoutSeconds: .inf\n',
    );
    writeFileSync(join(dir, 'kubeconfig'), unreachableKubeconfig);
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as AddressInfo).port;
      const { child, output } = kubeLbc([
        'proxy',
        '--cloud-config',
        join(dir, 'cloud.yaml'),
        '--health-probe-bind-address',
        `127.0.0.1:${port}`,
        '--kubeconfig',
        join(dir, 'kubeconfig'),
      ]);
      assert.equal(await exitCode(child), 2, output());
      assert.match(
        output(),
        /--cloud-config: cloud-config tcpIdleTimeoutSeconds: expected a number from 0\.01 to 2147483, got Infinity/,
      );
      assert.doesNotMatch(output(), /EADDRINUSE/);
    } finally {
      taken.close();
    }
  });

  it("exits 2 naming the proxy's own --cloud-config flag for a bad key", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-lbc-cli-'));
    writeFileSync(
      join(dir, 'cloud.yaml'),
      'addresses: [127.250.0.0/28]\nadresses: [127.251.0.0/28]\n',
    );
    writeFileSync(join(dir, 'kubeconfig'), unreachableKubeconfig);
    const { child, output } = kubeLbc([
      'proxy',
      '--cloud-config',
      join(dir, 'cloud.yaml'),
      '--health-probe-bind-address',
      '0',
      '--kubeconfig',
      join(dir, 'kubeconfig'),
    ]);
    assert.equal(await exitCode(child), 2, output());
    assert.match(output(), /^kube-lbc: --cloud-config: .*adresses/m);
    assert.doesNotMatch(
      output(),
      /--cloud-provider/,
      'kube-lbc proxy has no --cloud-provider flag',
    );
  });

  it('names the bind-address flag when its address cannot be served: exit 2 for an address not on this host, 1 for a port in use', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-lbc-cli-'));
    writeFileSync(join(dir, 'kubeconfig'), unreachableKubeconfig);
    const common = ['run', '--cloud-provider', 'fake', '--kubeconfig', join(dir, 'kubeconfig')];
    const foreign = kubeLbc([
      ...common,
      '--metrics-bind-address',
      '192.0.2.1:0',
      '--health-probe-bind-address',
      '0',
    ]);
    assert.equal(await exitCode(foreign.child), 2, foreign.output());
    assert.match(
      foreign.output(),
      /^kube-lbc: --metrics-bind-address: cannot serve on "192\.0\.2\.1:0": .*EADDRNOTAVAIL/m,
    );

    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as AddressInfo).port;
      const busy = kubeLbc([
        ...common,
        '--metrics-bind-address',
        '0',
        '--health-probe-bind-address',
        `127.0.0.1:${port}`,
      ]);
      assert.equal(await exitCode(busy.child), 1, busy.output());
      assert.match(
        busy.output(),
        new RegExp(
          `^kube-lbc: --health-probe-bind-address: cannot serve on "127\\.0\\.0\\.1:${port}": .*EADDRINUSE`,
          'm',
        ),
      );
    } finally {
      taken.close();
    }
  });

  describe('against a cluster', () => {
    let api: ApiServer;
    let dir: string;
    beforeEach(async () => {
      api = await startApiServer();
      dir = mkdtempSync(join(tmpdir(), 'kube-lbc-cli-'));
      writeFileSync(join(dir, 'kubeconfig'), api.kubeconfigYaml());
    });
    afterEach(async () => api.close());

    it('reconciles as leader, then on SIGTERM drains, releases the Lease and exits 0', async () => {
      const core = api.kubeConfig().makeApiClient(CoreV1Api);
      const leases = api.kubeConfig().makeApiClient(CoordinationV1Api);
      await core.createNode({
        body: {
          metadata: { name: 'n1' },
          status: { addresses: [{ type: 'InternalIP', address: '127.0.0.2' }] },
        },
      });
      await core.createNamespacedService({
        namespace: 'default',
        body: {
          metadata: { name: 'web' },
          spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }] },
        },
      });
      const { child, output } = kubeLbc([
        'run',
        '--cloud-provider',
        'fake',
        '--kubeconfig',
        join(dir, 'kubeconfig'),
        '--leader-elect-resource-namespace',
        'default',
        '--metrics-bind-address',
        '0',
        '--health-probe-bind-address',
        '0',
      ]);
      // The command's own structured log says when it has ensured the load balancer.
      await new Promise<void>((resolve, reject) => {
        const check = () => {
          if (/"msg":"ensured load balancer"/.test(output())) resolve();
        };
        child.stdout!.on('data', check);
        child.stderr!.on('data', check);
        child.once('exit', () => reject(new Error(`exited early:\n${output()}`)));
        check();
      });
      const svc = await core.readNamespacedService({ name: 'web', namespace: 'default' });
      assert.ok(svc.status?.loadBalancer?.ingress?.length, 'the ingress is published');
      assert.ok(svc.metadata?.finalizers?.includes('service.kubernetes.io/load-balancer-cleanup'));
      const held = await leases.readNamespacedLease({ name: 'kube-lbc', namespace: 'default' });
      assert.ok(held.spec?.holderIdentity, 'a leader holds the Lease');
      child.kill('SIGTERM');
      assert.equal(await exitCode(child), 0, output());
      const released = await leases.readNamespacedLease({ name: 'kube-lbc', namespace: 'default' });
      assert.equal(released.spec?.holderIdentity ?? '', '', 'the Lease is released for a standby');
      assert.match(output(), /"msg":"shutdown complete"/);
      const first = JSON.parse(output().split('\n')[0]!) as {
        msg: string;
        version: string;
        config: { cloudProvider: string };
      };
      assert.equal(
        first.msg,
        'starting kube-lbc',
        'the first line names the version and the configuration',
      );
      assert.equal(first.config.cloudProvider, 'fake');
      assert.match(first.version, /^\d+\.\d+\.\d+/);
    });

    it('proxy: /healthz checks the informers and /readyz their sync, not just a ping', async () => {
      writeFileSync(join(dir, 'cloud.yaml'), 'addresses: [127.250.0.0/28]\n');
      const { child, output } = kubeLbc([
        'proxy',
        '--cloud-config',
        join(dir, 'cloud.yaml'),
        '--kubeconfig',
        join(dir, 'kubeconfig'),
        '--health-probe-bind-address',
        '127.0.0.1:0',
        '--metrics-bind-address',
        '127.0.0.1:0',
      ]);
      try {
        await new Promise<void>((resolve, reject) => {
          const check = () => /"msg":"proxy agent serving"/.test(output()) && resolve();
          child.stdout!.on('data', check);
          child.stderr!.on('data', check);
          child.once('exit', () => reject(new Error(`exited early:\n${output()}`)));
          check();
        });
        const address = /"address":"([^"]+)","paths":\["\/healthz","\/readyz"\]/.exec(
          output(),
        )?.[1];
        assert.ok(address, output());
        const healthz = await fetch(`http://${address}/healthz?verbose`);
        assert.equal(healthz.status, 200);
        assert.match(await healthz.text(), /^\[\+\]informers ok/m);
        const readyz = await fetch(`http://${address}/readyz?verbose`);
        assert.equal(readyz.status, 200);
        assert.match(await readyz.text(), /^\[\+\]informer-sync ok/m);
        const metricsAddress = /"address":"([^"]+)","paths":\["\/metrics"\]/.exec(output())?.[1];
        assert.ok(metricsAddress, output());
        const metrics = await (await fetch(`http://${metricsAddress}/metrics`)).text();
        assert.match(
          metrics,
          /^# TYPE kube_lbc_local_connections_total counter$/m,
          "the data path's metrics",
        );
      } finally {
        child.kill('SIGTERM');
        await exitCode(child);
      }
    });

    it("loads the example plugin by path, as the provider guide shows, and names its metrics by the provider's name", async () => {
      const core = api.kubeConfig().makeApiClient(CoreV1Api);
      await core.createNode({
        body: {
          metadata: { name: 'n1' },
          status: { addresses: [{ type: 'InternalIP', address: '127.0.0.2' }] },
        },
      });
      await core.createNamespacedService({
        namespace: 'default',
        body: {
          metadata: { name: 'web' },
          spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }] },
        },
      });
      writeFileSync(join(dir, 'pool.yaml'), 'addresses: [203.0.113.10]\n');
      const { child, output } = kubeLbc([
        'run',
        '--cloud-provider',
        './docs/example-plugin/src/index.ts',
        '--cloud-config',
        join(dir, 'pool.yaml'),
        '--kubeconfig',
        join(dir, 'kubeconfig'),
        '--leader-elect=false',
        '--metrics-bind-address',
        '127.0.0.1:0',
        '--health-probe-bind-address',
        '0',
      ]);
      try {
        await new Promise<void>((resolve, reject) => {
          const check = () => /"msg":"ensured load balancer"/.test(output()) && resolve();
          child.stdout!.on('data', check);
          child.stderr!.on('data', check);
          child.once('exit', () => reject(new Error(`exited early:\n${output()}`)));
          check();
        });
        const svc = await core.readNamespacedService({ name: 'web', namespace: 'default' });
        assert.equal(svc.status?.loadBalancer?.ingress?.[0]?.ip, '203.0.113.10');
        const address = /"address":"([^"]+)","paths":\["\/metrics"\]/.exec(output())?.[1];
        assert.ok(address, output());
        const metrics = await (await fetch(`http://${address}/metrics`)).text();
        assert.match(
          metrics,
          /^cloudprovider_static_ip_api_request_duration_seconds_count\{request="CreateAssignment"\} 1$/m,
        );
        assert.match(
          metrics,
          /^kube_lbc_cloud_api_calls_total\{provider="static-ip",.*operation="CreateAssignment"/m,
        );
        assert.doesNotMatch(
          metrics,
          /example_plugin|src_index/,
          "a metric named after the plugin's path",
        );
      } finally {
        child.kill('SIGTERM');
        await exitCode(child);
      }
    });
  });
});
