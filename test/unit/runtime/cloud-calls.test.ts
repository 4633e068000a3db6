import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { CloudError } from '../../../contract/errors.js';
import { CloudCallGate } from '../../../runtime/cloud-calls.js';

const throttle = () => new CloudError('slow down', { operation: 'X', cloudCode: 'Throttling', throttled: true });

describe('CloudCallGate', () => {
  it('retries a throttled call after a backoff, without failing it', async () => {
    const slept: number[] = [];
    const gate = new CloudCallGate({ sleep: async (ms) => void slept.push(ms), throttleBackoffMs: (n) => n * 100 });
    let attempts = 0;
    const result = await gate.call('default', 'Describe', async () => {
      if (++attempts < 3) throw throttle();
      return 'ok';
    });
    assert.equal(result, 'ok');
    assert.equal(attempts, 3);
    assert.ok(slept.includes(100) && slept.includes(200), `backed off 100 then 200 ms, slept ${slept}`);
  });

  it('gives up after the configured attempts and passes the throttle on', async () => {
    const gate = new CloudCallGate({ sleep: async () => {}, throttleAttempts: 2 });
    await assert.rejects(gate.call('default', 'Describe', async () => { throw throttle(); }), CloudError);
  });

  it('does not retry other errors', async () => {
    const gate = new CloudCallGate();
    let attempts = 0;
    await assert.rejects(gate.call('default', 'Create', async () => { attempts++; throw new Error('boom'); }), /boom/);
    assert.equal(attempts, 1);
  });

  it('pauses the whole budget on a throttle, so other callers wait too', async () => {
    let release!: () => void;
    const pause = new Promise<void>((r) => (release = r));
    const gate = new CloudCallGate({ sleep: () => pause, throttleAttempts: 2 });
    let first = true;
    const order: string[] = [];
    const throttled = gate.call('default', 'A', async () => {
      if (first) {
        first = false;
        throw throttle();
      }
      order.push('A');
    });
    await new Promise((r) => setImmediate(r));
    const other = gate.call('default', 'B', async () => void order.push('B'));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, [], 'B waits while the budget is paused');
    release();
    await Promise.all([throttled, other]);
    assert.deepEqual(order.sort(), ['A', 'B']);
  });

  it('counts throttles that arrive together as one: the pause does not grow with the calls in flight', async () => {
    const slept: number[] = [];
    const wakers: (() => void)[] = [];
    const gate = new CloudCallGate({
      sleep: (ms) => new Promise<void>((resolve) => (slept.push(ms), wakers.push(resolve))),
      throttleBackoffMs: (n) => n * 100,
    });
    const tried = new Set<number>();
    let arrived!: () => void;
    const allArrived = new Promise<void>((r) => (arrived = r));
    const calls = [0, 1, 2, 3].map((i) =>
      gate.call('default', 'Describe', async () => {
        if (!tried.has(i)) {
          tried.add(i);
          // All four are in flight when the cloud throttles them.
          if (tried.size === 4) arrived();
          await allArrived;
          throw throttle();
        }
        return i;
      }),
    );
    await allArrived;
    for (let i = 0; i < 10 && wakers.length === 0; i++) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    for (const wake of wakers.splice(0)) wake();
    assert.deepEqual(await Promise.all(calls), [0, 1, 2, 3]);
    assert.deepEqual(slept, [100], 'one pause of the first step');
  });

  it('limits calls in flight per budget and counts calls for metrics', async () => {
    const seen: string[] = [];
    const gate = new CloudCallGate({ observer: (c) => seen.push(`${c.budget}:${c.operation}:${c.outcome}`) });
    gate.configure({ default: { qps: Infinity, burst: Infinity, concurrency: 1 }, mutate: { qps: Infinity, burst: Infinity, concurrency: 2 } });
    let inFlight = 0;
    let peak = 0;
    const work = async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
    };
    await Promise.all([1, 2, 3, 4].map(() => gate.call('default', 'Describe', work)));
    assert.equal(peak, 1);
    peak = 0;
    await Promise.all([1, 2, 3, 4].map(() => gate.call('mutate', 'Create', work)));
    assert.equal(peak, 2);
    assert.equal(gate.totalCalls, 8);
    assert.equal(seen[0], 'default:Describe:success');
  });

  it('at shutdown, lets waiting calls go at once and a running call finish', async () => {
    const shutdown = new AbortController();
    const never = new Promise<void>(() => {});
    const gate = new CloudCallGate({ sleep: () => never, signal: shutdown.signal });
    gate.configure({ default: { qps: Infinity, burst: Infinity, concurrency: 1 } });
    let finishRunning!: () => void;
    const running = gate.call('default', 'Running', () => new Promise<string>((r) => (finishRunning = () => r('done'))));
    const queued = gate.call('default', 'Queued', async () => 'ran');
    let throttledOnce = false;
    const pausedGate = new CloudCallGate({ sleep: () => never, signal: shutdown.signal });
    const paused = pausedGate.call('default', 'Paused', async () => {
      if (!throttledOnce) {
        throttledOnce = true;
        throw throttle();
      }
      return 'ran';
    });
    await new Promise((r) => setImmediate(r));

    const crowd = Array.from({ length: 20 }, () => gate.call('default', 'Queued', async () => 'ran'));
    // One listener for the gate, however many calls wait (Node warns past 10 on one signal).
    assert.equal(getEventListeners(shutdown.signal, 'abort').length, 2, 'one per gate');

    shutdown.abort(new Error('shutting down'));
    for (const call of crowd) await assert.rejects(call, /shutting down/);
    await assert.rejects(queued, /shutting down/, 'a call waiting for its turn leaves the queue');
    await assert.rejects(paused, /shutting down/, 'a call waiting out a throttle pause stops waiting');
    finishRunning();
    assert.equal(await running, 'done', 'a running call is not cut loose');
    await assert.rejects(gate.call('default', 'Late', async () => 'ran'), /shutting down/, 'nothing starts after');
  });
});

describe('CloudCallGate budget overrides', () => {
  it('scales every budget with the --cloud-qps override of the default one', async () => {
    let started = 0;
    const gate = new CloudCallGate({ defaultOverride: { qps: 2, burst: 2 } });
    gate.configure({ default: { qps: 1, burst: 1, concurrency: Infinity }, describe: { qps: 10, burst: 10, concurrency: Infinity } });
    // A burst of 20 at the scaled describe budget (burst 20) all start in the first window.
    const hold = new Promise<void>(() => {});
    for (let i = 0; i < 21; i++) void gate.call('describe', 'D', () => ((started++, hold)));
    await new Promise((r) => setImmediate(r));
    assert.equal(started, 20);
  });
});
