import assert from 'node:assert/strict';
import { WorkQueue, type Timers } from '../../../runtime/workqueue.js';

/** Timers that only fire when the test advances the clock. */
function manualTimers() {
  let now = 0;
  const pending: { at: number; fn: () => void; id: number }[] = [];
  let ids = 0;
  const timers: Timers & { advance(ms: number): void; delays: number[] } = {
    delays: [],
    now: () => now,
    setTimeout(fn, ms) {
      timers.delays.push(ms);
      const id = ++ids;
      pending.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout(handle) {
      const i = pending.findIndex((p) => p.id === handle);
      if (i >= 0) pending.splice(i, 1);
    },
    advance(ms) {
      now += ms;
      pending.sort((a, b) => a.at - b.at);
      while (pending.length && pending[0]!.at <= now) pending.shift()!.fn();
    },
  };
  return timers;
}

describe('WorkQueue', () => {
  it('keeps a key in the queue once however often it is added', async () => {
    const q = new WorkQueue<string>();
    q.add('a');
    q.add('b');
    q.add('a');
    assert.equal(q.length, 2);
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
  });

  it('never hands a key being processed to a second worker, and replays it after done', async () => {
    const q = new WorkQueue<string>();
    q.add('a');
    const first = await q.get();
    q.add('a');
    assert.equal(q.length, 0, 'the re-added key waits for done');
    q.done(first!);
    assert.equal(q.length, 1);
    assert.equal(await q.get(), 'a');
  });

  it('keeps the earliest deadline of two delayed adds', () => {
    const timers = manualTimers();
    const q = new WorkQueue<string>({ timers });
    q.addAfter('a', 1000);
    q.addAfter('a', 100);
    q.addAfter('a', 5000);
    timers.advance(100);
    assert.equal(q.length, 1);
    timers.advance(5000);
    assert.equal(q.length, 1, 'the later deadlines were dropped');
  });

  it('backs off per key exponentially until forget', () => {
    const timers = manualTimers();
    const q = new WorkQueue<string>({
      timers,
      backoff: { baseMs: 5000, maxMs: 300_000, jitter: 0 },
    });
    const delays = [1, 2, 3, 4, 5, 6, 7, 8, 9].map(() => q.addRateLimited('a'));
    assert.deepEqual(delays, [5000, 10000, 20000, 40000, 80000, 160000, 300000, 300000, 300000]);
    assert.equal(q.addRateLimited('b'), 5000, 'keys back off independently');
    q.forget('a');
    assert.equal(q.addRateLimited('a'), 5000);
  });

  it('adds jitter from the injected random', () => {
    const q = new WorkQueue<string>({
      timers: manualTimers(),
      backoff: { baseMs: 1000, jitter: 0.5, random: () => 1 },
    });
    assert.equal(q.addRateLimited('a'), 1500);
  });

  it('runs keys on several workers and drains in-flight work on shutdown', async () => {
    const q = new WorkQueue<string>();
    const started: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const finished: string[] = [];
    const running = q.run(2, async (key) => {
      started.push(key);
      await gate;
      finished.push(key);
    });
    q.add('a');
    q.add('b');
    q.add('c');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, ['a', 'b'], 'two workers, two keys at once');
    const shutdown = q.shutdown();
    release();
    await shutdown;
    await running;
    assert.deepEqual(finished.sort(), ['a', 'b'], 'in-flight keys finished; queued ones dropped');
  });

  it('ignores adds after shutdown and resolves waiting getters with undefined', async () => {
    const q = new WorkQueue<string>();
    const waiting = q.get();
    await q.shutdown();
    assert.equal(await waiting, undefined);
    q.add('a');
    assert.equal(q.length, 0);
  });

  it('reports its depth from the start, so an idle queue exports 0 rather than nothing', () => {
    const depths: [string, number][] = [];
    const metrics = {
      add() {},
      depth: (name: string, n: number) => void depths.push([name, n]),
      queueLatency() {},
      workDuration() {},
      retry() {},
    };
    new WorkQueue<string>({ name: 'service', metrics });
    assert.deepEqual(depths, [['service', 0]]);
  });
});
