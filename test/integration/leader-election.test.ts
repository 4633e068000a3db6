/**
 * Two electors against the API emulator over real HTTP, with short real durations: the leader is
 * killed, released, or cut off from the API server, and the standby must take over in time, never
 * while the old leader still writes.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CoordinationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { LeaderElector } from '../../runtime/leader-election.js';
import { startApiServer, type ApiServer } from '../../sandbox/apiserver/index.js';
import { kubeApiFor } from '../../runtime/kube-api.js';

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
      api: kubeApiFor(api.kubeConfig()),
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

/** One `kube-lbc run` process, its JSON log lines observable as they arrive. */
class KubeLbcProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: Record<string, unknown>[] = [];
  readonly exited: Promise<number | null>;
  readonly #events = new EventEmitter();

  constructor(kubeconfig: string, extraArgs: string[] = []) {
    const args = [
      '--import',
      'tsx',
      'cmd/kube-lbc.ts',
      'run',
      `--kubeconfig=${kubeconfig}`,
      '--cloud-provider=fake',
      `--leader-elect-resource-namespace=${namespace}`,
      '--leader-elect-lease-duration=2s',
      '--leader-elect-renew-deadline=1500ms',
      '--leader-elect-retry-period=250ms',
      '--metrics-bind-address=127.0.0.1:0',
      '--health-probe-bind-address=127.0.0.1:0',
      '--shutdown-grace-period=5s',
      ...extraArgs,
    ];
    this.child = spawn(process.execPath, args, { stdio: 'pipe' });
    createInterface({ input: this.child.stderr }).on('line', (line) => {
      try {
        this.lines.push(JSON.parse(line) as Record<string, unknown>);
        this.#events.emit('line');
      } catch {
        // not a log line (a Node.js warning, say)
      }
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  /** The first log line matching `test`, waiting for it to be written. */
  logged(test: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      const check = () => {
        const found = this.lines.find(test);
        if (found) {
          this.#events.off('line', check);
          resolve(found);
        }
      };
      this.#events.on('line', check);
      check();
    });
  }

  /** Where /healthz and /readyz are served, from the log line naming the bound address. */
  async probeAddress(): Promise<string> {
    const line = await this.logged(
      (l) => l.msg === 'serving http' && String(l.paths).includes('/readyz'),
    );
    return String(line.address);
  }

  async metricsAddress(): Promise<string> {
    const line = await this.logged(
      (l) => l.msg === 'serving http' && String(l.paths).includes('/metrics'),
    );
    return String(line.address);
  }

  kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null) this.child.kill(signal);
  }
}

function httpGet(address: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(`http://${address}${path}`, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    })
      .on('error', reject)
      .end();
  });
}

describe('two kube-lbc processes against the API emulator', function () {
  this.timeout(60_000);
  let api: ApiServer;
  let dir: string;
  let processes: KubeLbcProcess[];

  beforeEach(async () => {
    api = await startApiServer();
    await api
      .kubeConfig()
      .makeApiClient(CoreV1Api)
      .createNamespace({ body: { metadata: { name: namespace } } });
    dir = mkdtempSync(join(tmpdir(), 'kube-lbc-le-'));
    writeFileSync(join(dir, 'kubeconfig'), api.kubeconfigYaml());
    processes = [];
  });
  afterEach(async () => {
    for (const p of processes) {
      p.kill('SIGKILL');
      await p.exited;
    }
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Bounded poll: the Service is reconciled by another process. */
  async function ingressOf(name: string, limitMs: number): Promise<string> {
    const core = api.kubeConfig().makeApiClient(CoreV1Api);
    const deadline = Date.now() + limitMs;
    for (;;) {
      const svc = await core.readNamespacedService({ name, namespace: 'default' });
      const ingress = svc.status?.loadBalancer?.ingress?.[0];
      if (ingress) return ingress.ip ?? ingress.hostname ?? '';
      if (Date.now() > deadline) throw new Error(`no ingress on ${name} within ${limitMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function createService(name: string): Promise<void> {
    const core = api.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespacedService({
      namespace: 'default',
      body: {
        metadata: { name },
        spec: {
          type: 'LoadBalancer',
          ports: [{ port: 80, protocol: 'TCP' }],
          selector: { app: name },
        },
      },
    });
  }

  it('fails over to the standby when the leader is killed, and shuts down cleanly on SIGTERM', async () => {
    const kubeconfig = join(dir, 'kubeconfig');
    const a = new KubeLbcProcess(kubeconfig);
    processes.push(a);
    const aLeads = await within(
      a.logged((l) => l.msg === 'became leader'),
      20_000,
      'A leading',
    );
    await createService('first');
    await ingressOf('first', 10_000);

    const b = new KubeLbcProcess(kubeconfig);
    processes.push(b);
    await within(
      b.logged((l) => l.msg === 'new leader observed'),
      20_000,
      'B seeing A',
    );
    const readyz = await httpGet(await b.probeAddress(), '/readyz?verbose');
    assert.equal(readyz.status, 200);
    assert.match(
      readyz.body,
      new RegExp(`leader-election ok: standby \\(leader: ${aLeads.identity}\\)`),
    );

    a.kill('SIGKILL');
    const killedAt = Date.now();
    await within(
      b.logged((l) => l.msg === 'became leader'),
      2000 + 3 * 250 + 1000,
      'B taking over',
    );
    const takeoverMs = Date.now() - killedAt;
    await createService('second');
    await ingressOf('second', 10_000);
    const metrics = await httpGet(await b.metricsAddress(), '/metrics');
    assert.match(metrics.body, /^leader_election_master_status\{name="kube-lbc"\} 1$/m);
    assert.match(metrics.body, /^workqueue_adds_total\{name="[^"]+"\} [1-9]/m);

    b.kill('SIGTERM');
    assert.equal(await within(b.exited, 10_000, 'B exiting'), 0);
    const coordination = api.kubeConfig().makeApiClient(CoordinationV1Api);
    const lease = await coordination.readNamespacedLease({ name: 'kube-lbc', namespace });
    assert.equal(lease.spec?.holderIdentity, '', 'the Lease was not released');
    assert.ok(takeoverMs < 3750, `takeover took ${takeoverMs} ms`);
  });
});
