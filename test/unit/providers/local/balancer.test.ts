import assert from 'node:assert/strict';
import { Balancer } from '../../../../providers/local/balancer.js';

const ctx = (client: string) => ({ clientAddress: client, destinationAddress: '127.240.0.1' });
const targets = (...hosts: string[]) => hosts.map((host) => ({ host, port: 30080, weight: 1 }));

describe('local Balancer', () => {
  it('counts connections per backend and gives them back', () => {
    const balancer = new Balancer({ scheduler: 'lc', random: () => 0 });
    balancer.setBackends(targets('127.0.0.2', '127.0.0.3'));
    const first = balancer.acquire(ctx('10.0.0.1'))!;
    const second = balancer.acquire(ctx('10.0.0.1'))!;
    assert.notEqual(first.id, second.id, 'lc avoids the busy backend');
    balancer.release(first);
    assert.equal(first.activeConnections, 0);
    assert.equal(second.activeConnections, 1);
  });

  it('drains a removed backend: no new picks, its open connection still counted', () => {
    const balancer = new Balancer({ scheduler: 'rr' });
    balancer.setBackends(targets('127.0.0.2', '127.0.0.3'));
    const held = balancer.acquire(ctx('10.0.0.1'))!;
    const { added, removed } = balancer.setBackends(
      targets(held.id === '127.0.0.2:30080' ? '127.0.0.3' : '127.0.0.2'),
    );
    assert.deepEqual(added, []);
    assert.deepEqual(removed, [held]);
    assert.equal(held.draining, true);
    for (let i = 0; i < 4; i++) assert.notEqual(balancer.acquire(ctx('10.0.0.1'))!.id, held.id);
    balancer.release(held);
    assert.equal(held.activeConnections, 0);
  });

  it('keeps a ClientIP-affine client on its backend until the timeout, then re-picks', () => {
    const three = targets('127.0.0.2', '127.0.0.3', '127.0.0.4');
    const five = targets('127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6');
    const plainSh = (set: typeof three, client: string) => {
      const b = new Balancer({ scheduler: 'sh' });
      b.setBackends(set);
      return b.acquire(ctx(client))!.id;
    };
    // A client whose hashed backend changes when two backends join: only affinity keeps it.
    const client = Array.from({ length: 200 }, (_, i) => `10.0.0.${i}`).find(
      (c) => plainSh(three, c) !== plainSh(five, c),
    )!;
    let now = 0;
    const balancer = new Balancer({ scheduler: 'sh', affinityTimeoutMs: 1000, now: () => now });
    balancer.setBackends(three);
    const first = balancer.acquire(ctx(client))!;
    balancer.setBackends(five);
    now = 999;
    assert.equal(balancer.acquire(ctx(client))!.id, first.id, 'within the timeout');
    now = 999 + 1000;
    assert.equal(balancer.acquire(ctx(client))!.id, plainSh(five, client), 'expired: plain sh');
  });

  it('switches scheduler in place, keeping backends and counts', () => {
    const balancer = new Balancer({ scheduler: 'rr' });
    balancer.setBackends(targets('127.0.0.2'));
    const b = balancer.acquire(ctx('10.0.0.1'))!;
    balancer.configure({ scheduler: 'lc', affinityTimeoutMs: undefined });
    assert.equal(balancer.schedulerName, 'lc');
    assert.equal(balancer.backends[0], b);
    assert.equal(b.activeConnections, 1);
  });
});
