import assert from 'node:assert/strict';
import {
  createScheduler,
  type BackendView,
  type SchedulerName,
} from '../../../../providers/local/schedulers/index.js';
import { seededRandom } from './seeded-random.js';

function backends(
  spec: Record<string, { weight?: number; active?: number; available?: boolean }>,
): BackendView[] {
  return Object.entries(spec).map(([id, b]) => ({
    id,
    weight: b.weight ?? 1,
    activeConnections: b.active ?? 0,
    available: b.available ?? true,
  }));
}

const ctx = (client = '10.0.0.1', destination = '127.240.0.1') => ({
  clientAddress: client,
  destinationAddress: destination,
});

function picks(name: SchedulerName, set: BackendView[], n: number, seed = 1): string[] {
  const s = createScheduler(name, { random: seededRandom(seed) });
  return Array.from({ length: n }, () => s.pick(set, ctx())?.id ?? '-');
}

function counts(ids: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const id of ids) out[id] = (out[id] ?? 0) + 1;
  return out;
}

describe('local schedulers', () => {
  it('rr cycles through available backends in order, skipping unavailable ones', () => {
    const set = backends({ a: {}, b: { available: false }, c: {} });
    assert.deepEqual(picks('rr', set, 5), ['a', 'c', 'a', 'c', 'a']);
  });

  it('wrr interleaves by weight as IPVS does (3,2,1 gives a a b a b c)', () => {
    const set = backends({ a: { weight: 3 }, b: { weight: 2 }, c: { weight: 1 } });
    assert.deepEqual(picks('wrr', set, 12).join(''), 'aababcaababc');
  });

  it('wrr never picks a weight-0 backend', () => {
    const set = backends({ a: { weight: 0, available: false }, b: { weight: 2 } });
    assert.deepEqual(picks('wrr', set, 3), ['b', 'b', 'b']);
  });

  it('lc picks the backend with fewest connections', () => {
    const set = backends({ a: { active: 3 }, b: { active: 1 }, c: { active: 2 } });
    assert.deepEqual(picks('lc', set, 3), ['b', 'b', 'b']);
  });

  it('lc spreads ties evenly at random (fixed seed)', () => {
    const c = counts(picks('lc', backends({ a: {}, b: {}, c: {} }), 3000, 7));
    for (const id of ['a', 'b', 'c']) assert.ok(Math.abs(c[id]! - 1000) < 100, JSON.stringify(c));
  });

  it('wlc weighs connections: 4 on weight 4 beats 2 on weight 1', () => {
    const set = backends({ a: { weight: 4, active: 4 }, b: { weight: 1, active: 2 } });
    assert.deepEqual(picks('wlc', set, 2), ['a', 'a']);
  });

  it('sed counts the new connection: (0+1)/1 loses to (1+1)/4', () => {
    // wlc would pick idle b (0/1 < 1/4); sed expects a to finish sooner.
    const set = backends({ a: { weight: 4, active: 1 }, b: { weight: 1, active: 0 } });
    assert.deepEqual(picks('sed', set, 1), ['a']);
    assert.deepEqual(picks('wlc', set, 1), ['b']);
  });

  it('nq sends to an idle backend whatever the weights, else as sed', () => {
    const set = backends({ a: { weight: 4, active: 1 }, b: { weight: 1, active: 0 } });
    assert.deepEqual(picks('nq', set, 1), ['b']);
    const busy = backends({ a: { weight: 4, active: 1 }, b: { weight: 1, active: 1 } });
    assert.deepEqual(picks('nq', busy, 1), ['a']);
  });

  it('dh maps one destination to one backend, and different destinations across backends', () => {
    const set = backends({ a: {}, b: {}, c: {} });
    const dh = createScheduler('dh');
    const first = dh.pick(set, ctx('10.0.0.1', '127.240.0.1'))!.id;
    for (let i = 2; i < 50; i++)
      assert.equal(dh.pick(set, ctx(`10.0.0.${i}`, '127.240.0.1'))!.id, first);
    const seen = new Set<string>();
    for (let i = 1; i < 50; i++) seen.add(dh.pick(set, ctx('10.0.0.1', `127.240.0.${i}`))!.id);
    assert.equal(seen.size, 3);
  });

  it('sh keeps each client on one backend, spreads clients, and moves only a dead backend’s clients', () => {
    const set = backends({ a: {}, b: {}, c: {} });
    const sh = createScheduler('sh');
    const clients = Array.from({ length: 300 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
    const first = new Map(clients.map((c) => [c, sh.pick(set, ctx(c))!.id]));
    for (const c of clients) assert.equal(sh.pick(set, ctx(c))!.id, first.get(c), 'sticky');
    const spread = counts([...first.values()]);
    for (const id of ['a', 'b', 'c']) assert.ok(spread[id]! > 60, JSON.stringify(spread));

    const withoutB = backends({ a: {}, b: { available: false }, c: {} });
    for (const c of clients) {
      const now = sh.pick(withoutB, ctx(c))!.id;
      if (first.get(c) === 'b') assert.notEqual(now, 'b');
      else assert.equal(now, first.get(c), 'clients of healthy backends stay put');
    }
  });

  it('sh gives a backend buckets in proportion to its weight', () => {
    const set = backends({ a: { weight: 3 }, b: { weight: 1 } });
    const sh = createScheduler('sh');
    const c = counts(
      Array.from({ length: 2000 }, (_, i) => sh.pick(set, ctx(`10.1.${i >> 8}.${i & 255}`))!.id),
    );
    assert.ok(c.a! > 2.2 * c.b! && c.a! < 3.8 * c.b!, JSON.stringify(c));
  });

  for (const name of ['rr', 'wrr', 'lc', 'wlc', 'dh', 'sh', 'sed', 'nq'] as const) {
    it(`${name} returns nothing when no backend is available`, () => {
      assert.equal(
        createScheduler(name).pick(backends({ a: { available: false } }), ctx()),
        undefined,
      );
      assert.equal(createScheduler(name).pick([], ctx()), undefined);
    });
  }
});
