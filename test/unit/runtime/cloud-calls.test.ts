import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { CloudError } from '../../../contract/errors.js';
import { CloudCallGate, queueOptions, type CallOutcome } from '../../../runtime/cloud-calls.js';
import { FakeClock, settle } from './fake-clock.js';

const unavailable = () =>
  new CloudError('X: ServiceUnavailable', {
    operation: 'X',
    cloudCode: 'ServiceUnavailable',
    retryable: true,
  });
const throttle = () =>
  new CloudError('slow down', { operation: 'X', cloudCode: 'Throttling', throttled: true });

describe('CloudCallGate', () => {
  it('retries a throttled call after a backoff, without failing it', async () => {
    const slept: number[] = [];
    const gate = new CloudCallGate({
      sleep: async (ms) => void slept.push(ms),
      throttleBackoffMs: (n) => n * 100,
      attemptTimeoutMs: Infinity,
    });
    let attempts = 0;
    const result = await gate.call('default', 'Describe', async () => {
      if (++attempts < 3) throw throttle();
      return 'ok';
    });
    assert.equal(result, 'ok');
    assert.equal(attempts, 3);
    assert.ok(
      slept.includes(100) && slept.includes(200),
      `backed off 100 then 200 ms, slept ${slept}`,
    );
  });

  it('gives up after the configured attempts and passes the throttle on', async () => {
    const gate = new CloudCallGate({
      sleep: async () => {},
      throttleAttempts: 2,
      attemptTimeoutMs: Infinity,
    });
    await assert.rejects(
      gate.call('default', 'Describe', async () => {
        throw throttle();
      }),
      CloudError,
    );
  });

  it('does not retry other errors', async () => {
    const gate = new CloudCallGate();
    let attempts = 0;
    await assert.rejects(
      gate.call('default', 'Create', async () => {
        attempts++;
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(attempts, 1);
  });

  it('pauses the whole budget on a throttle, so other callers wait too', async () => {
    let release!: () => void;
    const pause = new Promise<void>((r) => (release = r));
    const gate = new CloudCallGate({
      sleep: () => pause,
      throttleAttempts: 2,
      attemptTimeoutMs: Infinity,
    });
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
      attemptTimeoutMs: Infinity,
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
    const gate = new CloudCallGate({
      observer: (c) => seen.push(`${c.budget}:${c.operation}:${c.outcome}`),
    });
    gate.configure({
      default: { qps: Infinity, burst: Infinity, concurrency: 1 },
      mutate: { qps: Infinity, burst: Infinity, concurrency: 2 },
    });
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
    const gate = new CloudCallGate({
      sleep: () => never,
      signal: shutdown.signal,
      attemptTimeoutMs: Infinity,
    });
    gate.configure({ default: { qps: Infinity, burst: Infinity, concurrency: 1 } });
    let finishRunning!: () => void;
    const running = gate.call(
      'default',
      'Running',
      () => new Promise<string>((r) => (finishRunning = () => r('done'))),
    );
    const queued = gate.call('default', 'Queued', async () => 'ran');
    let throttledOnce = false;
    const pausedGate = new CloudCallGate({
      sleep: () => never,
      signal: shutdown.signal,
      attemptTimeoutMs: Infinity,
    });
    const paused = pausedGate.call('default', 'Paused', async () => {
      if (!throttledOnce) {
        throttledOnce = true;
        throw throttle();
      }
      return 'ran';
    });
    await new Promise((r) => setImmediate(r));

    const crowd = Array.from({ length: 20 }, () =>
      gate.call('default', 'Queued', async () => 'ran'),
    );
    // One listener for the gate, however many calls wait (Node warns past 10 on one signal).
    assert.equal(getEventListeners(shutdown.signal, 'abort').length, 2, 'one per gate');

    shutdown.abort(new Error('shutting down'));
    for (const call of crowd) await assert.rejects(call, /shutting down/);
    await assert.rejects(queued, /shutting down/, 'a call waiting for its turn leaves the queue');
    await assert.rejects(
      paused,
      /shutting down/,
      'a call waiting out a throttle pause stops waiting',
    );
    finishRunning();
    assert.equal(await running, 'done', 'a running call is not cut loose');
    await assert.rejects(
      gate.call('default', 'Late', async () => 'ran'),
      /shutting down/,
      'nothing starts after',
    );
  });
});

describe('CloudCallGate windows', () => {
  /** The most calls p-queue's fixed windows can start within any `seconds`: windows touched, times cap. */
  const worstCase = (o: { intervalCap?: number; interval?: number }, seconds: number) =>
    (Math.ceil((seconds * 1000) / o.interval!) + 1) * o.intervalCap!;

  for (const b of [
    { qps: 10, burst: 40 },
    { qps: 4, burst: 20 },
    { qps: 5, burst: 50 },
    { qps: 3, burst: 10 },
    { qps: 20, burst: 100 },
  ]) {
    it(`never starts more than a bucket of ${b.burst} refilled at ${b.qps}/s accepts`, () => {
      const o = queueOptions({ ...b, concurrency: Infinity })!;
      for (const seconds of [0.001, 0.5, 1, 2, 3.9, 4, 10, 60]) {
        assert.ok(
          worstCase(o, seconds) <= b.burst + b.qps * seconds,
          `${seconds} s: ${worstCase(o, seconds)}`,
        );
      }
      assert.ok(
        o.intervalCap! / o.interval! >= (b.qps / 1000) * 0.9,
        'and keeps the sustained rate',
      );
    });
  }
});

describe('CloudCallGate budget overrides', () => {
  it('scales every budget with the --cloud-qps override of the default one', async () => {
    let started = 0;
    const gate = new CloudCallGate({ defaultOverride: { qps: 2, burst: 2 } });
    gate.configure({
      default: { qps: 1, burst: 1, concurrency: Infinity },
      describe: { qps: 10, burst: 10, concurrency: Infinity },
    });
    // The scaled describe budget (burst 20) starts its first window of half that at once.
    const hold = new Promise<void>(() => {});
    for (let i = 0; i < 21; i++) void gate.call('describe', 'D', () => (started++, hold));
    await new Promise((r) => setImmediate(r));
    assert.equal(started, 10);
  });

  it('sets one budget alone with a --cloud-budget override, over the --cloud-qps scaling', async () => {
    const gate = new CloudCallGate({
      defaultOverride: { qps: 2, burst: 2 },
      budgetOverrides: { register: { qps: 4, burst: 6, concurrency: 2 }, nonsense: { qps: 1 } },
    });
    gate.configure({
      default: { qps: 1, burst: 1, concurrency: Infinity },
      describe: { qps: 10, burst: 10, concurrency: Infinity },
      register: { qps: 3, burst: 10, concurrency: 4 },
    });
    assert.deepEqual(gate.effectiveBudget('register'), { qps: 4, burst: 6, concurrency: 2 });
    assert.deepEqual(gate.effectiveBudget('describe'), {
      qps: 20,
      burst: 20,
      concurrency: Infinity,
    });
    assert.deepEqual(gate.undeclaredBudgets(), ['nonsense']);
    let started = 0;
    const hold = new Promise<void>(() => {});
    for (let i = 0; i < 5; i++) void gate.call('register', 'R', () => (started++, hold));
    await new Promise((r) => setImmediate(r));
    assert.equal(started, 2, "its concurrency, not the provider's 4");
  });
});

describe('CloudCalls transient retries', () => {
  /** A gate on a manual clock whose pauses are recorded; random() is 0.5, so jitter is exact. */
  function newGate(extra: ConstructorParameters<typeof CloudCallGate>[0] = {}) {
    const clock = new FakeClock();
    const slept: number[] = [];
    const attempts: { operation: string; outcome: CallOutcome; attempt: number | undefined }[] = [];
    const gate = new CloudCallGate({
      now: clock.now,
      sleep: (ms, signal) => {
        if (!signal) slept.push(ms);
        return clock.sleep(ms, signal);
      },
      random: () => 0.5,
      observer: ({ operation, outcome, attempt }) => attempts.push({ operation, outcome, attempt }),
      ...extra,
    });
    /** Runs `call` to the end, moving the clock through its pauses. */
    const run = async <T>(call: Promise<T>): Promise<T> => {
      let done = false;
      void call.then(
        () => (done = true),
        () => (done = true),
      );
      await clock.advanceUntil(() => done, 600_000);
      return call;
    };
    return { gate, clock, slept, attempts, run };
  }

  const failing = (failures: number, err: () => Error = unavailable) => {
    let n = 0;
    const fn = async () => {
      if (++n <= failures) throw err();
      return 'ok';
    };
    return { fn, tries: () => n };
  };

  it('retries a transient failure of an idempotent call with jittered backoff, and it succeeds', async () => {
    const { gate, slept, attempts, run } = newGate();
    const { fn, tries } = failing(2);
    assert.equal(
      await run(gate.call('describe', 'DescribeTargetGroups', fn, { idempotent: true })),
      'ok',
    );
    assert.equal(tries(), 3);
    assert.deepEqual(slept, [50, 100], 'half of 100 ms, then of 200 ms');
    assert.deepEqual(
      attempts.map((a) => `${a.outcome}#${a.attempt}`),
      ['error#1', 'error#2', 'success#3'],
    );
  });

  it('does not repeat a write that was not declared safe to repeat', async () => {
    const { gate, run } = newGate();
    const { fn, tries } = failing(1);
    await assert.rejects(run(gate.call('mutate', 'CreateSecurityGroup', fn)), /ServiceUnavailable/);
    assert.equal(tries(), 1);
  });

  it('gives up after the configured attempts and passes the last failure on', async () => {
    const { gate, run } = newGate({ transientAttempts: 2 });
    const { fn, tries } = failing(5);
    await assert.rejects(run(gate.call('describe', 'D', fn, { idempotent: true })), CloudError);
    assert.equal(tries(), 2);
  });

  it('does not retry a failure the adapter classified as permanent, nor a not-found', async () => {
    const { gate, run } = newGate();
    const invalid = failing(
      1,
      () =>
        new CloudError('bad', { operation: 'X', cloudCode: 'ValidationError', retryable: false }),
    );
    await assert.rejects(run(gate.call('describe', 'D', invalid.fn, { idempotent: true })), /bad/);
    const missing = failing(
      1,
      () =>
        new CloudError('gone', {
          operation: 'X',
          cloudCode: 'LoadBalancerNotFound',
          notFound: true,
        }),
    );
    await assert.rejects(run(gate.call('describe', 'D', missing.fn, { idempotent: true })), /gone/);
    assert.deepEqual([invalid.tries(), missing.tries()], [1, 1]);
  });

  it('verifies a failed write by its read before sending it again', async () => {
    const { gate, run } = newGate();
    // The answer was lost after the cloud acted: the read finds it, and it is not sent again.
    const lost = failing(1);
    assert.equal(
      await run(
        gate.call('mutate', 'CreateLoadBalancer', lost.fn, { verify: async () => 'found' }),
      ),
      'found',
    );
    assert.equal(lost.tries(), 1);
    // The cloud never acted: the read finds nothing, and it is sent again.
    const refused = failing(1);
    assert.equal(
      await run(
        gate.call('mutate', 'CreateLoadBalancer', refused.fn, { verify: async () => undefined }),
      ),
      'ok',
    );
    assert.equal(refused.tries(), 2);
  });

  it('abandons an attempt at its deadline, frees its slot, aborts its signal and retries it', async () => {
    const { gate, clock, attempts } = newGate({ attemptTimeoutMs: 1000 });
    gate.configure({ default: { qps: Infinity, burst: Infinity, concurrency: 1 } });
    const signals: AbortSignal[] = [];
    let n = 0;
    const hungOnce = gate.call(
      'default',
      'DescribeLoadBalancers',
      (signal) => {
        signals.push(signal);
        return ++n === 1 ? new Promise<string>(() => {}) : Promise.resolve('answered');
      },
      { idempotent: true },
    );
    const behind = gate.call('default', 'DescribeTargetGroups', async () => 'ran');
    await settle();
    assert.equal(n, 1, 'the second call waits for the only slot');
    await clock.advance(1000);
    assert.equal(await behind, 'ran', 'the hung attempt no longer holds the slot');
    await clock.advance(1000);
    assert.equal(await hungOnce, 'answered');
    assert.equal(signals[0]!.aborted, true, 'the abandoned attempt was told');
    assert.match(String(signals[0]!.reason), /no answer within 1000 ms/);
    assert.deepEqual(
      attempts.map((a) => `${a.operation}:${a.outcome}`),
      [
        'DescribeLoadBalancers:timeout',
        'DescribeTargetGroups:success',
        'DescribeLoadBalancers:success',
      ],
    );
  });

  it('fails the health check only while calls wait and none has moved for longer than the limit', async () => {
    const { gate, clock } = newGate({ attemptTimeoutMs: Infinity });
    gate.configure({ default: { qps: Infinity, burst: Infinity, concurrency: 1 } });
    clock.jump(600_000);
    gate.healthCheck(60_000); // idle for ten minutes: nothing waits, nothing is wrong
    let finish!: () => void;
    const hung = gate.call('default', 'A', () => new Promise<void>((r) => (finish = r)));
    const waiting = gate.call('default', 'B', async () => {});
    await settle();
    clock.jump(59_000);
    gate.healthCheck(60_000);
    clock.jump(2000);
    assert.throws(
      () => gate.healthCheck(60_000),
      /2 cloud calls waiting, none started or finished for 61 s/,
    );
    gate.healthCheck(0); // 0 disables it
    finish();
    await Promise.all([hung, waiting]);
    gate.healthCheck(60_000);
  });
});
