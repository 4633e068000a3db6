import assert from 'node:assert/strict';
import { once } from 'node:events';
import { DataPath } from '../../../providers/local/data-path.js';
import type { UdpListener } from '../../../providers/local/udp-proxy.js';
import type { VirtualServiceSpec } from '../../../providers/local/virtual-service.js';
import { startUdpBackends, udpClient } from './helpers.js';

const vip = '127.243.0.2';
const vport = 18053;

describe('local data path (UDP, real sockets)', () => {
  let backends: Awaited<ReturnType<typeof startUdpBackends>>;
  let dataPath: DataPath;

  let spec: VirtualServiceSpec;

  beforeEach(async () => {
    backends = await startUdpBackends('127.243.3', ['a', 'b']);
    dataPath = new DataPath({
      maxConnections: 100,
      tcpIdleTimeoutMs: 30_000,
      udpIdleTimeoutMs: 100,
      healthCheck: { intervalMs: 1000, timeoutMs: 200, unhealthyThreshold: 1, healthyThreshold: 1 },
    });
    spec = {
      key: 'uid-udp',
      name: 'default/dns',
      address: vip,
      scheduler: 'rr',
      affinityTimeoutMs: undefined,
      sourceRanges: [],
      ports: [
        {
          port: vport,
          protocol: 'UDP',
          backends: backends.hosts.map((host) => ({
            host,
            port: backends.port,
            weight: 1,
            health: undefined,
          })),
        },
      ],
    };
    await dataPath.apply(spec);
  });
  afterEach(async () => {
    await dataPath.close();
    await backends.close();
  });

  it('round-trips datagrams, one backend per client flow, flows spread by rr', async () => {
    const one = await udpClient();
    const two = await udpClient();
    const first = await one.ask(vip, vport, 'ping');
    assert.match(first, /^[ab]:ping$/);
    assert.equal(
      await one.ask(vip, vport, 'again'),
      `${first[0]}:again`,
      'a flow keeps its backend',
    );
    const other = await two.ask(vip, vport, 'ping');
    assert.notEqual(other[0], first[0], 'the next flow goes to the next backend');
    await Promise.all([one.close(), two.close()]);
  });

  it('moves a live flow off a backend that left the set, instead of sending into it for good', async () => {
    const client = await udpClient();
    const first = await client.ask(vip, vport, 'ping');
    const [port] = spec.ports;
    const gone = backends.hosts['ab'.indexOf(first[0]!)];
    const staying = port!.backends.filter((b) => b.host !== gone);
    // The node behind the flow's backend is gone: a client that keeps sending (a stream, a game)
    // never idles out, so without this its datagrams go to a dead node for as long as it talks.
    await dataPath.apply({ ...spec, ports: [{ ...port!, backends: staying }] });
    const after = await client.ask(vip, vport, 'again');
    assert.notEqual(after[0], first[0], `still sent to the removed backend ${first[0]}`);
    assert.equal(after, `${after[0]}:again`);
    await client.close();
  });

  it('forgets a flow once it has been idle for the timeout', async () => {
    const listener = dataPath.listener('uid-udp', vip, vport, 'UDP') as UdpListener;
    const client = await udpClient();
    await client.ask(vip, vport, 'hello');
    assert.equal(listener.connections, 1);
    await once(listener, 'closed');
    assert.equal(listener.connections, 0);
    await client.close();
  });
});
