import assert from 'node:assert/strict';
import { LeaderElector, type LeaderElectionOptions } from '../../../runtime/leader-election.js';
import { FakeClock } from './fake-clock.js';
import { FakeLeaseApi } from './fake-lease-api.js';

const leaseMs = 15_000;
const renewMs = 10_000;
const retryMs = 2_000;

interface Candidate {
  elector: LeaderElector;
  /** Local times at which leading started and its signal aborted. */
  startedAt?: number;
  abortedAt?: number;
  stoppedCalls: number;
  leaders: string[];
}

function candidate(
  clock: FakeClock,
  api: FakeLeaseApi,
  identity: string,
  tweak: Partial<LeaderElectionOptions> = {},
): Candidate {
  const c: Candidate = { stoppedCalls: 0, leaders: [] } as unknown as Candidate;
  c.elector = new LeaderElector({
    api,
    namespace: 'kube-lbc-system',
    name: 'kube-lbc',
    identity,
    leaseDurationMs: leaseMs,
    renewDeadlineMs: renewMs,
    retryPeriodMs: retryMs,
    now: clock.now,
    sleep: clock.sleep,
    random: () => 0,
    onStartedLeading(signal) {
      c.startedAt = clock.now();
      signal.addEventListener('abort', () => (c.abortedAt = clock.now()));
    },
    onStoppedLeading: () => c.stoppedCalls++,
    onNewLeader: (id) => c.leaders.push(id),
    ...tweak,
  });
  return c;
}

/** The instant the lease was last written, from the record itself. */
function renewTime(api: FakeLeaseApi): number {
  return new Date(api.lease!.spec!.renewTime as unknown as string).getTime();
}

describe('LeaderElector', () => {
  let clock: FakeClock;
  let api: FakeLeaseApi;
  let running: LeaderElector[];

  beforeEach(() => {
    clock = new FakeClock();
    api = new FakeLeaseApi();
    running = [];
  });
  afterEach(async () => {
    for (const e of running) await e.stop();
  });
  function start(c: Candidate): Candidate {
    running.push(c.elector);
    void c.elector.run();
    return c;
  }

  it('creates a missing lease and leads at once', async () => {
    const a = start(candidate(clock, api, 'a'));
    await clock.advance(0);
    assert.equal(a.elector.isLeader(), true);
    assert.equal(a.startedAt, clock.now());
    assert.deepEqual(a.leaders, ['a']);
    const spec = api.lease!.spec!;
    assert.equal(spec.holderIdentity, 'a');
    assert.equal(spec.leaseDurationSeconds, 15);
    assert.equal(spec.leaseTransitions, 0);
  });

  it('writes renewTime with microsecond precision, as the API server requires', async () => {
    start(candidate(clock, api, 'a'));
    await clock.advance(0);
    assert.match(String(api.lease!.spec!.renewTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it('renews every retry period without reading first', async () => {
    start(candidate(clock, api, 'a'));
    await clock.advance(0);
    const callsBefore = api.calls.length;
    await clock.advance(3 * retryMs);
    assert.equal(renewTime(api), clock.now());
    assert.deepEqual(api.calls.slice(callsBefore), ['replace', 'replace', 'replace']);
  });

  it('leaves a lease that is being renewed to its holder', async () => {
    const a = start(candidate(clock, api, 'a'));
    await clock.advance(0);
    const b = start(candidate(clock, api, 'b'));
    await clock.advance(10 * leaseMs);
    assert.equal(a.elector.isLeader(), true);
    assert.equal(b.elector.isLeader(), false);
    assert.equal(b.startedAt, undefined);
    assert.equal(b.elector.getLeader(), 'a');
    assert.deepEqual(b.leaders, ['a']);
  });

  it('stops leading at the renew deadline when renewals fail, before the lease could expire', async () => {
    const a = start(candidate(clock, api, 'a'));
    await clock.advance(0);
    await clock.advance(retryMs);
    const lastWrite = renewTime(api);
    api.failing = true;
    await clock.advanceUntil(() => a.abortedAt !== undefined, leaseMs, 50);
    assert.equal(a.elector.isLeader(), false);
    assert.equal(a.stoppedCalls, 1);
    // The deadline runs from the start of the last successful renew, which wrote renewTime.
    assert.ok(
      a.abortedAt! - lastWrite <= renewMs,
      `aborted ${a.abortedAt! - lastWrite} ms after the last renew`,
    );
    assert.ok(a.abortedAt! - lastWrite < leaseMs);
  });

  it('stops leading at the renew deadline when the API server does not answer', async () => {
    const a = start(candidate(clock, api, 'a'));
    await clock.advance(0);
    const lastWrite = renewTime(api);
    api.hanging = true;
    await clock.advanceUntil(() => a.abortedAt !== undefined, leaseMs, 50);
    assert.equal(a.abortedAt! - lastWrite, renewMs);
  });

  it('lets a standby take over once a dead leader’s lease has expired, and not before', async () => {
    const a = start(candidate(clock, api, 'a'));
    await clock.advance(0);
    const b = start(candidate(clock, api, 'b'));
    await clock.advance(retryMs);
    await a.elector.stop();
    const lastWrite = renewTime(api);
    await clock.advanceUntil(() => b.startedAt !== undefined, 2 * leaseMs, 50);
    const gap = b.startedAt! - lastWrite;
    assert.ok(gap >= leaseMs, `took over ${gap} ms after the last renew`);
    assert.ok(gap <= leaseMs + retryMs, `took over ${gap} ms after the last renew`);
    assert.equal(api.lease!.spec!.holderIdentity, 'b');
    assert.equal(api.lease!.spec!.leaseTransitions, 1);
    assert.deepEqual(b.leaders, ['a', 'b']);
  });

  it('judges expiry by its own clock, not by the renewTime another machine wrote', async () => {
    const a = start(candidate(clock, api, 'a'));
    await clock.advance(0);
    await a.elector.stop();
    // The holder's clock ran an hour fast: its renewTime lies in the future.
    api.edit((lease) => {
      lease.spec!.renewTime = new Date(clock.now() + 3_600_000).toISOString() as never;
    });
    const b = start(candidate(clock, api, 'b'));
    const waited = await clock.advanceUntil(() => b.startedAt !== undefined, 2 * leaseMs, 50);
    assert.ok(waited >= leaseMs && waited <= leaseMs + retryMs, `waited ${waited} ms`);
  });

  it('releases on shutdown so a standby takes over at its next attempt', async () => {
    const a = start(candidate(clock, api, 'a'));
    await clock.advance(0);
    const b = start(candidate(clock, api, 'b'));
    await clock.advance(retryMs / 2);
    await a.elector.release();
    assert.equal(a.abortedAt, clock.now());
    assert.equal(a.stoppedCalls, 1);
    assert.equal(api.lease!.spec!.holderIdentity, '');
    const waited = await clock.advanceUntil(() => b.startedAt !== undefined, leaseMs, 50);
    assert.ok(waited <= retryMs, `standby waited ${waited} ms`);
  });

  it('releases even when a renew it gave up on has moved the lease on (409, re-read)', async () => {
    const a = start(candidate(clock, api, 'a'));
    await clock.advance(0);
    api.holdingAnswers = true;
    await clock.advance(retryMs);
    assert.equal(api.calls.at(-1), 'replace', 'a renew is in flight');
    api.holdingAnswers = false;
    await a.elector.release();
    api.answerHeld();
    assert.equal(api.lease!.spec!.holderIdentity, '');
    assert.deepEqual(api.calls.slice(-3), ['replace', 'read', 'replace']);
  });

  it('falls back to a read when its copy of the lease is stale (409)', async () => {
    const a = start(candidate(clock, api, 'a'));
    await clock.advance(0);
    api.touch();
    const callsBefore = api.calls.length;
    await clock.advance(retryMs);
    assert.deepEqual(api.calls.slice(callsBefore), ['replace', 'read', 'replace']);
    assert.equal(a.elector.isLeader(), true);
    assert.equal(renewTime(api), clock.now());
  });

  it('reports unhealthy when it still leads long after its last renew', async () => {
    const a = start(candidate(clock, api, 'a'));
    await clock.advance(0);
    assert.doesNotThrow(() => a.elector.healthCheck(5_000));
    clock.jump(leaseMs + 5_001);
    assert.throws(() => a.elector.healthCheck(5_000), /failed to renew lease/);
  });

  it('refuses timings that could let two replicas lead at once', () => {
    assert.throws(
      () => candidate(clock, api, 'a', { leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }),
      /lease duration \(10000 ms\) must be greater than renew deadline/,
    );
    assert.throws(
      () => candidate(clock, api, 'a', { renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }),
      /renew deadline \(2000 ms\) must be greater than 1.2 x retry period/,
    );
  });
});
