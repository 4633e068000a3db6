import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { DataPath, type DataPathOptions } from '../../../providers/local/data-path.js';
import { parseRange, type IpRange } from '../../../providers/local/ipv4.js';
import type { SchedulerName } from '../../../providers/local/schedulers/index.js';
import type { TcpListener } from '../../../providers/local/tcp-proxy.js';
import type { VirtualServiceSpec } from '../../../providers/local/virtual-service.js';
import { seededRandom } from '../../unit/providers/local/seeded-random.js';
import {
  closeAll,
  connect,
  echo,
  startBackends,
  whoAnswers,
  type NamedBackend,
} from './helpers.js';

const vip = '127.243.0.1';
const vport = 18080;

/** Both relays where the native one is built (`make native`, Linux); the JavaScript one alone elsewhere. */
const relays = process.platform === 'linux' ? (['native', 'js'] as const) : (['js'] as const);

function newRelayDataPath(overrides: Partial<DataPathOptions> = {}): DataPath {
  return new DataPath({
    maxConnections: 100,
    tcpIdleTimeoutMs: 30_000,
    udpIdleTimeoutMs: 30_000,
    healthCheck: { intervalMs: 20, timeoutMs: 200, unhealthyThreshold: 1, healthyThreshold: 1 },
    random: seededRandom(42),
    ...overrides,
  });
}

function spec(
  backends: readonly NamedBackend[],
  scheduler: SchedulerName = 'rr',
  extra: Partial<VirtualServiceSpec> & { weights?: number[] } = {},
): VirtualServiceSpec {
  return {
    key: 'uid-1',
    name: 'default/web',
    address: vip,
    scheduler,
    affinityTimeoutMs: undefined,
    sourceRanges: [],
    ports: [
      {
        port: vport,
        protocol: 'TCP',
        backends: backends.map((b, i) => ({
          host: b.host,
          port: b.port,
          weight: extra.weights?.[i] ?? 1,
          health: { kind: 'tcp' as const, host: b.host, port: b.port },
        })),
      },
    ],
    ...extra,
  };
}

function tally(names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

async function holdMany(n: number, localAddress?: string) {
  const held = [];
  for (let i = 0; i < n; i++) held.push(await connect(vip, vport, localAddress));
  return held;
}

for (const tcpRelay of relays) {
  describe(`local data path (TCP, real sockets, ${tcpRelay} relay)`, () => {
    let backends: NamedBackend[];
    let dataPath: DataPath;
    const newDataPath = (overrides: Partial<DataPathOptions> = {}) =>
      newRelayDataPath({ tcpRelay, ...overrides });

    beforeEach(async () => {
      backends = await startBackends('127.243.1', ['a', 'b', 'c']);
      dataPath = newDataPath();
      assert.equal(dataPath.tcpForwarding, tcpRelay === 'js' ? 'relay' : 'native');
    });
    afterEach(async () => {
      await dataPath.close();
      await Promise.all(backends.map((b) => b.stop()));
    });

    it('binds a Service on all its ports or on none: a taken port releases the ones just bound', async () => {
      // Something else holds vip:vport+1 (a wildcard-bound metrics server does the same).
      const squatter = net.createServer();
      await new Promise<void>((resolve) => squatter.listen(vport + 1, vip, resolve));
      try {
        const web = spec(backends, 'rr');
        const twoPorts = { ...web, ports: [web.ports[0]!, { ...web.ports[0]!, port: vport + 1 }] };
        await assert.rejects(dataPath.apply(twoPorts), (err: Error) => {
          assert.match(
            err.message,
            /cannot listen on 127\.243\.0\.1:18081\/TCP: the port is already in use/,
          );
          return true;
        });
        await assert.rejects(whoAnswers(vip, vport), /ECONNREFUSED/);
        assert.deepEqual(dataPath.serviceKeys, []);
        // Another Service on another address is served as before.
        await dataPath.apply({
          ...web,
          key: 'uid-2',
          name: 'default/other',
          address: '127.243.0.2',
        });
        assert.equal(await whoAnswers('127.243.0.2', vport), 'a');
      } finally {
        squatter.close();
      }
    });

    it('rr sends connections to each backend in turn', async () => {
      await dataPath.apply(spec(backends, 'rr'));
      const names = [];
      for (let i = 0; i < 6; i++) names.push(await whoAnswers(vip, vport));
      assert.deepEqual(names, ['a', 'b', 'c', 'a', 'b', 'c']);
    });

    it('wrr follows the weights in IPVS order (3,2,1)', async () => {
      await dataPath.apply(spec(backends, 'wrr', { weights: [3, 2, 1] }));
      const names = [];
      for (let i = 0; i < 6; i++) names.push(await whoAnswers(vip, vport));
      assert.equal(names.join(''), 'aababc');
    });

    it('lc sends a new connection to the backend a closed one left', async () => {
      await dataPath.apply(spec(backends, 'lc'));
      const held = await holdMany(3);
      assert.deepEqual(held.map((h) => h.name).sort(), ['a', 'b', 'c']);
      const onB = held.find((h) => h.name === 'b')!;
      await closeAll(onB.socket);
      await once(dataPath.listener('uid-1', vip, vport, 'TCP') as TcpListener, 'closed');
      const next = await connect(vip, vport);
      assert.equal(next.name, 'b');
      await closeAll(next.socket, ...held.map((h) => h.socket));
    });

    it('wlc keeps open connections in proportion to weight (2:1:1)', async () => {
      await dataPath.apply(spec(backends, 'wlc', { weights: [2, 1, 1] }));
      const held = await holdMany(40);
      const counts = tally(held.map((h) => h.name));
      assert.ok(
        Math.abs(counts.a! - 20) <= 1 && Math.abs(counts.b! - 10) <= 1,
        JSON.stringify(counts),
      );
      await closeAll(...held.map((h) => h.socket));
    });

    it('sed loads the heavy backend first; nq fills idle backends first', async () => {
      await dataPath.apply(spec(backends, 'sed', { weights: [4, 1, 1] }));
      const sed = await holdMany(3);
      assert.deepEqual(
        sed.map((h) => h.name),
        ['a', 'a', 'a'],
        'sed: (n+1)/4 < 1 until a holds 3',
      );
      await closeAll(...sed.map((h) => h.socket));
      await dataPath.apply(spec(backends, 'nq', { weights: [4, 1, 1] }));
      // Wait until sed's connections are all counted out, so nq sees three idle backends.
      const listener = dataPath.listener('uid-1', vip, vport, 'TCP') as TcpListener;
      while (listener.connections > 0) await once(listener, 'closed');
      const nq = await holdMany(3);
      assert.deepEqual(nq.map((h) => h.name).sort(), ['a', 'b', 'c']);
      await closeAll(...nq.map((h) => h.socket));
    });

    it('dh maps the virtual address to one backend for every client', async () => {
      await dataPath.apply(spec(backends, 'dh'));
      const names = new Set<string>();
      for (let i = 1; i <= 8; i++) names.add(await whoAnswers(vip, vport, `127.9.0.${i}`));
      assert.equal(names.size, 1);
    });

    it('sh keeps every client on its backend and spreads clients', async () => {
      await dataPath.apply(spec(backends, 'sh'));
      const first = new Map<string, string>();
      for (let i = 1; i <= 24; i++)
        first.set(`127.9.0.${i}`, await whoAnswers(vip, vport, `127.9.0.${i}`));
      for (const [client, name] of first) assert.equal(await whoAnswers(vip, vport, client), name);
      assert.equal(new Set(first.values()).size, 3);
    });

    it('takes a failed backend out, retrying the connection elsewhere, and puts it back once it recovers', async () => {
      await dataPath.apply(spec(backends, 'rr'));
      await backends[1]!.stop();
      const names = [];
      for (let i = 0; i < 6; i++) names.push(await whoAnswers(vip, vport));
      assert.ok(!names.includes('b'), names.join(','));
      assert.ok(names.includes('a') && names.includes('c'));

      const healthy = once(dataPath.health, 'change');
      await backends[1]!.start();
      assert.deepEqual(await healthy, [`tcp://${backends[1]!.host}:${backends[1]!.port}`, true]);
      const after = [];
      for (let i = 0; i < 3; i++) after.push(await whoAnswers(vip, vport));
      assert.deepEqual(after.sort(), ['a', 'b', 'c']);
    });

    it('keeps a connection to a removed node working while new ones avoid it', async () => {
      await dataPath.apply(spec(backends, 'rr'));
      const held = await connect(vip, vport);
      assert.equal(held.name, 'a');
      await dataPath.apply(spec([backends[1]!, backends[2]!], 'rr'));
      assert.equal(await echo(held.socket, 'still here'), 'still here');
      const names = [];
      for (let i = 0; i < 4; i++) names.push(await whoAnswers(vip, vport));
      assert.ok(!names.includes('a'), names.join(','));
      assert.equal(backends[0]!.connections, 1, 'the drained connection is still open');
      await closeAll(held.socket);
    });

    it('forwards a half-close: the client ends its side and still reads the reply', async () => {
      await dataPath.apply(spec(backends, 'rr'));
      const { socket } = await connect(vip, vport);
      socket.end('bye');
      socket.resume();
      let got = '';
      socket.on('data', (c: Buffer) => (got += c.toString()));
      await once(socket, 'close');
      assert.equal(got, 'bye');
    });

    it('enforces source ranges on accept', async () => {
      const allowed = parseRange('127.9.1.0/24') as IpRange;
      await dataPath.apply(spec(backends, 'rr', { sourceRanges: [allowed] }));
      assert.equal(await whoAnswers(vip, vport, '127.9.1.7'), 'a');
      const listener = dataPath.listener('uid-1', vip, vport, 'TCP') as TcpListener;
      const rejected = once(listener, 'rejected');
      await assert.rejects(connect(vip, vport, '127.9.2.7'));
      assert.deepEqual(await rejected, ['source-range']);
    });

    it('refuses connections beyond the limit and closes idle ones', async () => {
      await dataPath.close();
      dataPath = newDataPath({ maxConnections: 2, tcpIdleTimeoutMs: 150 });
      await dataPath.apply(spec(backends, 'rr'));
      const listener = dataPath.listener('uid-1', vip, vport, 'TCP') as TcpListener;
      const held = await holdMany(2);
      const rejected = once(listener, 'rejected');
      await assert.rejects(connect(vip, vport));
      assert.deepEqual(await rejected, ['limit']);
      // Nobody talks: the idle timeout closes both held connections.
      await Promise.all(held.map((h) => once(h.socket, 'close')));
      while (listener.connections > 0) await once(listener, 'closed');
    });

    it('changes nothing when the same spec is applied twice, and closes listeners it no longer wants', async () => {
      await dataPath.apply(spec(backends, 'rr'));
      const listener = dataPath.listener('uid-1', vip, vport, 'TCP');
      await dataPath.apply(spec(backends, 'rr'));
      assert.equal(dataPath.listener('uid-1', vip, vport, 'TCP'), listener);
      await dataPath.remove('uid-1');
      await assert.rejects(whoAnswers(vip, vport), /ECONNREFUSED/);
    });
  });
}
