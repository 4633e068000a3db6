/**
 * The data path's metrics over real loopback sockets: connections, bytes each way, refusals and
 * backend health, as /metrics serves them through the same registration the controller and
 * `kube-lbc proxy` use; and the address pool's use.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Registry } from 'prom-client';
import { AddressPool } from '../../../providers/local/address-pool.js';
import { DataPath } from '../../../providers/local/data-path.js';
import { parseRange, type IpRange } from '../../../providers/local/ipv4.js';
import { dataPathMetrics, poolMetrics } from '../../../providers/local/metrics.js';
import type { TcpListener } from '../../../providers/local/tcp-proxy.js';
import type { VirtualServiceSpec } from '../../../providers/local/virtual-service.js';
import { registerCollected } from '../../../runtime/metrics.js';
import { until } from '../../support/until.js';
import { closeAll, connect, echo, startBackends, type NamedBackend } from './helpers.js';

const vip = '127.243.150.1';
const vport = 18090;
const listener = `${vip}:${vport}/TCP`;

function spec(
  backends: readonly { host: string; port: number }[],
  sourceRanges: IpRange[] = [],
): VirtualServiceSpec {
  return {
    key: 'uid-m',
    name: 'default/metered',
    address: vip,
    scheduler: 'rr',
    affinityTimeoutMs: undefined,
    sourceRanges,
    ports: [
      {
        port: vport,
        protocol: 'TCP',
        backends: backends.map((b) => ({
          ...b,
          weight: 1,
          health: { kind: 'tcp' as const, host: b.host, port: b.port },
        })),
      },
    ],
  };
}

/** `name{labels} value` lines of the scrape, for one metric. */
async function scrape(registry: Registry, name: string): Promise<string[]> {
  return (await registry.metrics())
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

describe('local data-path metrics', function () {
  this.timeout(20_000);
  let dataPath: DataPath;
  let backends: NamedBackend[];
  let registry: Registry;

  beforeEach(async () => {
    backends = await startBackends('127.243.151', ['node-1', 'node-2']);
    dataPath = new DataPath({
      maxConnections: 100,
      tcpIdleTimeoutMs: 30_000,
      udpIdleTimeoutMs: 30_000,
      // Long: only a refused connect marks a backend down in these tests.
      healthCheck: {
        intervalMs: 60_000,
        timeoutMs: 1000,
        unhealthyThreshold: 1,
        healthyThreshold: 1,
      },
    });
    registry = new Registry();
    registerCollected(registry, () => dataPathMetrics(dataPath));
  });
  afterEach(async () => {
    await dataPath.close();
    for (const b of backends) await b.stop();
  });

  it('counts open and total connections, and the bytes each way, live and after close', async () => {
    await dataPath.apply(spec(backends));
    const a = await connect(vip, vport);
    const b = await connect(vip, vport);
    assert.equal(await echo(a.socket, 'hello'), 'hello');
    const labels = `{service="default/metered",listener="${listener}"}`;
    assert.deepEqual(await scrape(registry, 'kube_lbc_local_connections'), [
      `kube_lbc_local_connections${labels} 2`,
    ]);
    assert.deepEqual(await scrape(registry, 'kube_lbc_local_connections_total'), [
      `kube_lbc_local_connections_total${labels} 2`,
    ]);
    // Out: each backend's name line (7 bytes) and the echo (5); in: the 5 sent.
    const bytes = (dir: string, n: number) =>
      `kube_lbc_local_bytes_total{service="default/metered",listener="${listener}",direction="${dir}"} ${n}`;
    // The native relay's thread publishes a count just after its send returns, so the client
    // can hold the echo a moment before the live counter does: wait for it (it must not pass 19).
    await until(
      async () => (await scrape(registry, 'kube_lbc_local_bytes_total')).includes(bytes('out', 19)),
      'the live count of 19 bytes out',
    );
    assert.deepEqual(await scrape(registry, 'kube_lbc_local_bytes_total'), [
      bytes('in', 5),
      bytes('out', 19),
    ]);
    const tcp = dataPath.listener('uid-m', vip, vport, 'TCP') as TcpListener;
    await closeAll(a.socket, b.socket);
    while (tcp.connections > 0) await once(tcp, 'closed');
    assert.deepEqual(await scrape(registry, 'kube_lbc_local_connections'), [
      `kube_lbc_local_connections${labels} 0`,
    ]);
    assert.deepEqual(
      await scrape(registry, 'kube_lbc_local_bytes_total'),
      [bytes('in', 5), bytes('out', 19)],
      'closed connections keep their bytes',
    );
  });

  it('counts refusals by reason', async () => {
    await dataPath.apply(spec(backends, [parseRange('10.0.0.0/8') as IpRange]));
    const refused = await connect(vip, vport).then(
      () => false,
      () => true,
    );
    assert.ok(refused, 'a client outside the source ranges is refused');
    const lines = await scrape(registry, 'kube_lbc_local_connections_rejected_total');
    assert.ok(
      lines.includes(
        `kube_lbc_local_connections_rejected_total{service="default/metered",listener="${listener}",reason="source-range"} 1`,
      ),
      lines.join('\n'),
    );
    assert.ok(
      lines.includes(
        `kube_lbc_local_connections_rejected_total{service="default/metered",listener="${listener}",reason="limit"} 0`,
      ),
    );
  });

  it('reports each backend healthy or not', async () => {
    const dead = { host: '127.243.151.9', port: backends[0]!.port };
    await dataPath.apply(spec([dead, ...backends]));
    // rr tries the dead one first: the refused connect takes it out, and the client is served.
    for (let i = 0; i < 3; i++) await closeAll((await connect(vip, vport)).socket);
    const healthy = (id: string, v: number) =>
      `kube_lbc_local_backend_healthy{service="default/metered",listener="${listener}",backend="${id}"} ${v}`;
    const lines = await scrape(registry, 'kube_lbc_local_backend_healthy');
    assert.ok(lines.includes(healthy(`${dead.host}:${dead.port}`, 0)), lines.join('\n'));
    for (const b of backends)
      assert.ok(lines.includes(healthy(`${b.host}:${b.port}`, 1)), lines.join('\n'));
  });

  it('reports the pool: total and allocated addresses', async () => {
    const pool = new AddressPool([parseRange('127.243.152.0/30') as IpRange]);
    pool.allocate('uid-1');
    const poolRegistry = new Registry();
    registerCollected(poolRegistry, () => poolMetrics(pool));
    const lines = await scrape(poolRegistry, 'kube_lbc_local_pool_addresses');
    assert.deepEqual(lines, [
      `kube_lbc_local_pool_addresses{state="total"} ${pool.size}`,
      'kube_lbc_local_pool_addresses{state="allocated"} 1',
    ]);
  });
});
