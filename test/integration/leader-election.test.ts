/**
 * Two electors against the API emulator over real HTTP, with short real durations: the leader is
 * killed, released, or cut off from the API server, and the standby must take over in time, never
 * while the old leader still writes.
 */
import assert from 'node:assert/strict';
import { CoordinationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { LeaderElector } from '../../runtime/leader-election.js';
import { startApiServer, type ApiServer } from '../../sandbox/apiserver/index.js';

const namespace = 'kube-lbc-system';
const leaseMs = 1500;
const renewMs = 1000;
const retryMs = 200;
/** Scheduling noise on a shared two-core machine. */
const slackMs = 400;

interface Replica {
  elector: LeaderElector;
  started: Promise<number>;
  aborted: Promise<number>;
  /** Resolves once this replica has seen `replica-a` hold the Lease. */
  sawA: Promise<void>;
}

function replica(api: ApiServer, identity: string): Replica {
  let started!: (t: number) => void;
  let aborted!: (t: number) => void;
  let sawA!: () => void;
  const r: Replica = {
    started: new Promise((resolve) => (started = resolve)),
    aborted: new Promise((resolve) => (aborted = resolve)),
    sawA: new Promise((resolve) => (sawA = resolve)),
    elector: new LeaderElector({
      kubeConfig: api.kubeConfig(),
      namespace,
      name: 'kube-lbc',
      identity,
      leaseDurationMs: leaseMs,
      renewDeadlineMs: renewMs,
      retryPeriodMs: retryMs,
      onStartedLeading(signal) {
        started(Date.now());
        signal.addEventListener('abort', () => aborted(Date.now()));
      },
      onNewLeader(leader) {
        if (leader === 'replica-a') sawA();
      },
    }),
  };
  void r.elector.run();
  return r;
}

/** Rejects if `promise` has not settled within `ms`: the bound on what the test waits for. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
    }),
  ]);
}

describe('leader election against the API emulator', function () {
  this.timeout(20_000);
  let api: ApiServer;
  let replicas: Replica[];

  beforeEach(async () => {
    api = await startApiServer();
    const core = api.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    replicas = [];
  });
  afterEach(async () => {
    for (const r of replicas) await r.elector.stop();
    await api.close();
  });

  async function leaderAndStandby(): Promise<[Replica, Replica]> {
    const a = replica(api, 'replica-a');
    replicas.push(a);
    await within(a.started, 5000, 'the first replica leading');
    const b = replica(api, 'replica-b');
    replicas.push(b);
    await within(b.sawA, 5000, 'the standby seeing the leader');
    return [a, b];
  }

  async function lastRenew(): Promise<number> {
    const coordination = api.kubeConfig().makeApiClient(CoordinationV1Api);
    const lease = await coordination.readNamespacedLease({ name: 'kube-lbc', namespace });
    return new Date(lease.spec!.renewTime as unknown as string).getTime();
  }

  it('lets the standby take over within one lease duration of a killed leader', async () => {
    const [a, b] = await leaderAndStandby();
    await a.elector.stop();
    const renewed = await lastRenew();
    const takeover = await within(b.started, leaseMs + 3 * retryMs + slackMs, 'the takeover');
    assert.ok(
      takeover - renewed >= leaseMs - 50,
      `took over ${takeover - renewed} ms after the last renew`,
    );
    assert.equal(b.elector.getLeader(), 'replica-b');
  });

  it('hands over at the next attempt when the leader releases the lease', async () => {
    const [a, b] = await leaderAndStandby();
    const released = Date.now();
    await a.elector.release();
    const takeover = await within(b.started, leaseMs, 'the takeover');
    assert.ok(takeover - released <= 2.2 * retryMs + slackMs, `took ${takeover - released} ms`);
  });

  it('stops the leader’s writes before the standby can lead, when the API server goes away', async () => {
    const [a, b] = await leaderAndStandby();
    const renewed = await lastRenew();
    const refused = api.faults.refuseConnections(renewMs + retryMs);
    const stopped = await within(a.aborted, renewMs + slackMs + retryMs, 'the leader stopping');
    await refused;
    const takeover = await within(b.started, 2 * leaseMs + slackMs, 'the takeover');
    assert.ok(
      stopped - renewed <= renewMs + retryMs + slackMs,
      `stopped ${stopped - renewed} ms after its last renew`,
    );
    assert.ok(stopped < takeover, 'the old leader still led when the standby took over');
    assert.equal(a.elector.isLeader(), false);
  });

  it('writes the Lease the API server validates (MicroTime, transitions)', async () => {
    const [a, b] = await leaderAndStandby();
    await a.elector.release();
    await within(b.started, leaseMs, 'the takeover');
    const coordination = api.kubeConfig().makeApiClient(CoordinationV1Api);
    const lease = await coordination.readNamespacedLease({ name: 'kube-lbc', namespace });
    assert.equal(lease.spec?.holderIdentity, 'replica-b');
    assert.equal(lease.spec?.leaseDurationSeconds, Math.ceil(leaseMs / 1000));
    assert.equal(lease.spec?.leaseTransitions, 1);
  });
});
