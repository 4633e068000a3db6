/**
 * One soak phase: two kube-lbc replicas (processes, leader election on a Lease) against the API
 * emulator, or the server behind $KUBECONFIG, and one cloud; Services in waves of create, update,
 * revert and delete; with `faults`, the leader SIGKILLed in every wave and restarted, the
 * Services of the delete wave half deleted while every replica is down, and the emulator's API
 * faults (dropped watches, 410 Gone, 409 on status and finalizer patches, 500s, an outage).
 * Every wave waits, up to a bound, until the API and the cloud inventory agree with the Services;
 * then the phase tallies. `bench/soak.ts` runs the full soak, `test/soak/soak.test.ts` a short one.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Service,
} from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../../sandbox/apiserver/index.js';
import type { SoakCloud } from './clouds.js';
import { ReplicaSet, type ProcessFigures } from './replicas.js';
import { changeOf, newSoakService, tally, type Tally, type WaveName } from './workload.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const WAVES: readonly WaveName[] = ['create', 'update', 'revert', 'delete'];

export interface PhaseOptions {
  readonly name: string;
  readonly services: number;
  /** Builds the cloud once the run's directory and name prefix are known. */
  readonly cloud: (dir: string, prefix: string) => Promise<SoakCloud>;
  /** Kills, every-replica-down deletes and API faults; off for the fault-free run. */
  readonly faults: boolean;
  /** The API outage, on the emulator. */
  readonly outageMs: number;
  /** How long a wave may take to converge. */
  readonly waveTimeoutMs: number;
  /** Extra `run` flags for the replicas. */
  readonly replicaArgs?: readonly string[];
  /** @default 'tsx' */
  readonly bin?: 'tsx' | 'dist';
  readonly log?: (line: string) => void;
}

export interface FaultRecord {
  readonly wave: WaveName;
  readonly fault: string;
  /** Seconds from the fault (its end, for an outage) until the wave converged; undefined if it never did. */
  recoverySeconds?: number;
  at: number;
}

export interface WaveReport extends Tally {
  readonly wave: WaveName;
  readonly seconds: number;
}

export interface PhaseReport {
  readonly name: string;
  readonly target: 'emulator' | 'real';
  readonly waves: readonly WaveReport[];
  readonly faults: readonly FaultRecord[];
  /** Kills the replicas recovered from (the wave converged after). */
  readonly killsSurvived: number;
  readonly kills: number;
  readonly selfExits: number;
  readonly processes: ProcessFigures;
  readonly cloudRequests: number;
  readonly logDir: string;
}

export async function runPhase(options: PhaseOptions): Promise<PhaseReport> {
  const log = options.log ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), `kube-lbc-soak-${options.name}-`));
  const id = `${Date.now().toString(36)}`;
  const prefix = `soak-${id}`;
  const target = await openApi(dir);
  const core = target.kc.makeApiClient(CoreV1Api);
  const ns = prefix;
  const cloud = await options.cloud(dir, prefix);
  let replicas: ReplicaSet | undefined;
  try {
    // Both replicas are processes of their own from here on.
    await core.createNamespace({ body: { metadata: { name: ns } } });
    for (const node of cloud.nodes) await core.createNode({ body: node });
    replicas = await ReplicaSet.start({
      count: 2,
      logDir: dir,
      bin: options.bin ?? 'tsx',
      args: [
        '--kubeconfig',
        target.kubeconfigPath,
        ...cloud.args,
        '--cluster-name',
        prefix,
        '--leader-elect-resource-namespace',
        ns,
        '--leader-elect-lease-duration',
        '4s',
        '--leader-elect-renew-deadline',
        '3s',
        '--leader-elect-retry-period',
        '500ms',
        '--log-level',
        'warn',
        ...(options.replicaArgs ?? []),
      ],
    });
    const set = replicas;
    await until(async () => (await set.leader()) !== undefined, 60_000);
    const names = Array.from({ length: options.services }, (_, i) => `svc-${i}`);
    const uids = new Map<string, string>();
    const deleted = new Set<string>();
    const faults: FaultRecord[] = [];
    const waves: WaveReport[] = [];

    // The cloud is read only once the API looks done: an AWS inventory costs many calls.
    const look = async (withCloud: boolean): Promise<Tally | undefined> => {
      const services = await retrying(
        () => core.listNamespacedService({ namespace: ns }),
        5000,
      ).catch(() => undefined);
      if (!services) return undefined;
      const inventory = withCloud ? await cloud.inventory().catch(() => undefined) : undefined;
      if (withCloud && !inventory) return undefined;
      return tally(
        services.items,
        uids,
        deleted,
        inventory,
        cloud.countsNodes ? cloud.nodes.length : undefined,
      );
    };
    const done = (t: Tally | undefined) =>
      t !== undefined && t.converged === t.total && t.orphans === 0 && t.duplicates === 0;

    for (const wave of WAVES) {
      const started = performance.now();
      const waveFaults: FaultRecord[] = [];
      const fault = (name: string) => {
        const record: FaultRecord = { wave, fault: name, at: performance.now() };
        waveFaults.push(record);
        log(`  ${wave}: ${name}`);
        return record;
      };
      // The faults strike a third of the way through the wave's changes.
      let injected: Promise<void> | undefined;
      const midway = () => {
        if (!options.faults) return;
        injected ??= injectFaults(wave, { target, set, options, fault, services: names.length });
      };
      const context = {
        core,
        ns,
        names,
        uids,
        deleted,
        cloud,
        replicas: set,
        options,
        fault,
        midway,
      };
      await applyWave(wave, context);
      midway();
      await injected;
      const deadline = performance.now() + options.waveTimeoutMs;
      for (;;) {
        const api = await look(false);
        if (done(api) && done(await look(true))) break;
        if (performance.now() > deadline) break;
        await sleep(1000);
      }
      const end = performance.now();
      const final = (await look(true)) ?? (await look(true));
      if (!final) throw new Error(`${wave}: neither the API nor the cloud could be read`);
      const converged = done(final);
      for (const f of waveFaults) if (converged) f.recoverySeconds = (end - f.at) / 1000;
      faults.push(...waveFaults);
      const report = { wave, seconds: (end - started) / 1000, ...final };
      waves.push(report);
      log(
        `  ${wave}: ${final.converged}/${final.total} in ${report.seconds.toFixed(1)} s` +
          (final.examples.length ? ` (${final.examples.join('; ')})` : ''),
      );
    }
    cloud.calm();
    await set.stop();
    return {
      name: options.name,
      target: target.emulator ? 'emulator' : 'real',
      waves,
      faults,
      kills: set.kills,
      killsSurvived: faults.filter(
        (f) => f.fault.startsWith('SIGKILL') && f.recoverySeconds !== undefined,
      ).length,
      selfExits: set.selfExits,
      processes: set.figures(),
      cloudRequests: cloud.requests(),
      logDir: dir,
    };
  } finally {
    await replicas?.stop();
    await cleanUp(
      core,
      ns,
      cloud.nodes.map((n) => n.metadata!.name!),
    );
    await cloud.close();
    await target.emulator?.close();
  }
}

interface WaveContext {
  core: CoreV1Api;
  ns: string;
  names: readonly string[];
  uids: Map<string, string>;
  deleted: Set<string>;
  cloud: SoakCloud;
  replicas: ReplicaSet;
  options: PhaseOptions;
  fault: (name: string) => FaultRecord;
  midway: () => void;
}

async function applyWave(wave: WaveName, c: WaveContext): Promise<void> {
  const { core, ns } = c;
  if (wave === 'create') {
    await inBatches(c.names, c.midway, async (name, i) => {
      const made = await retrying(() =>
        core.createNamespacedService({ namespace: ns, body: newSoakService(name, i) }),
      );
      c.uids.set(name, made.metadata!.uid!);
    });
    return;
  }
  const remove = async (name: string) => {
    await retrying(() => core.deleteNamespacedService({ name, namespace: ns }).catch(notFoundOk));
    c.deleted.add(name);
  };
  if (wave === 'delete') {
    if (c.options.faults) {
      // Half the Services are deleted while every replica is down; the finalizer holds them.
      for (let r = 0; r < c.replicas.size; r++) await c.replicas.kill(r);
      c.fault('every replica SIGKILLed, half the Services deleted meanwhile');
      await inBatches(
        c.names.filter((_, i) => i % 2 === 0),
        () => {},
        remove,
      );
      for (let r = 0; r < c.replicas.size; r++) c.replicas.restart(r);
      await inBatches(
        c.names.filter((_, i) => i % 2 === 1),
        c.midway,
        remove,
      );
    } else {
      await inBatches(c.names, c.midway, remove);
    }
    return;
  }
  await inBatches(c.names, c.midway, async (name, i) => {
    const change = changeOf(wave, i, c.cloud.provider);
    if (!change || change === 'delete') return;
    await retrying(() =>
      core.patchNamespacedService({ name, namespace: ns, body: change }, mergePatch),
    );
  });
}

async function injectFaults(
  wave: WaveName,
  c: {
    target: ApiTarget;
    set: ReplicaSet;
    options: PhaseOptions;
    fault: (name: string) => FaultRecord;
    services: number;
  },
): Promise<void> {
  const api = c.target.emulator?.faults;
  const some = Math.max(3, Math.round(c.services / 10));
  // The leader dies mid-wave, and is back as a pod would be, a few seconds later.
  const killLeader = async () => {
    let found: number | undefined;
    await until(async () => (found = await c.set.leader()) !== undefined, 60_000);
    const leader = found!;
    await c.set.kill(leader);
    c.fault(`SIGKILL of the leader (replica ${leader})`);
    setTimeout(() => c.set.restart(leader), 2000);
  };
  switch (wave) {
    case 'create':
      if (api) {
        api.failNext({ resource: 'services', subresource: 'status' }, { code: 409 }, some);
        api.failNext({ verb: 'patch', resource: 'services' }, { code: 500 }, some);
        c.fault(`409 on ${some} status writes, 500 on ${some} Service patches`);
        api.dropWatches({ abrupt: true });
        c.fault('watches reset');
      }
      await killLeader();
      return;
    case 'update':
      if (api) {
        api.expireNextWatch('services');
        api.dropWatches({ resource: 'services' });
        c.fault('Services watch dropped, re-watch answered 410 Gone');
        api.failNext({ verb: 'patch', resource: 'services' }, { code: 409 }, some);
        c.fault(`409 on ${some} finalizer and status patches`);
      }
      await killLeader();
      return;
    case 'revert':
      await killLeader();
      if (api) {
        await api.refuseConnections(c.options.outageMs);
        c.fault(
          `API outage of ${(c.options.outageMs / 1000).toFixed(0)} s (recovery from its end)`,
        );
      }
      return;
    case 'delete':
      if (api) {
        api.failNext({ verb: 'patch', resource: 'services' }, { code: 500 }, some);
        api.dropWatches();
        c.fault(`500 on ${some} finalizer removals, watches dropped`);
      }
      await killLeader();
      return;
  }
}

interface ApiTarget {
  readonly kc: KubeConfig;
  readonly kubeconfigPath: string;
  readonly emulator?: ApiServer;
}

/** The emulator, or the server behind $KUBECONFIG when set, as the contract suite picks. */
async function openApi(dir: string): Promise<ApiTarget> {
  const kc = new KubeConfig();
  if (process.env.KUBECONFIG) {
    kc.loadFromFile(process.env.KUBECONFIG);
    return { kc, kubeconfigPath: process.env.KUBECONFIG };
  }
  const emulator = await startApiServer();
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, emulator.kubeconfigYaml());
  kc.loadFromFile(kubeconfigPath);
  return { kc, kubeconfigPath, emulator };
}

/** Leaves a real server as it was: Services (finalizers stripped), Nodes, the namespace. */
async function cleanUp(core: CoreV1Api, ns: string, nodes: readonly string[]): Promise<void> {
  const left = await core
    .listNamespacedService({ namespace: ns })
    .catch(() => ({ items: [] as V1Service[] }));
  for (const svc of left.items) {
    const name = svc.metadata!.name!;
    await core
      .patchNamespacedService(
        { name, namespace: ns, body: { metadata: { finalizers: null } } },
        mergePatch,
      )
      .catch(() => {});
    await core.deleteNamespacedService({ name, namespace: ns }).catch(() => {});
  }
  for (const name of nodes) await core.deleteNode({ name }).catch(() => {});
  await core.deleteNamespace({ name: ns }).catch(() => {});
}

/** The soak's own writes ride out the faults it injects: retried for up to `limitMs`. */
async function retrying<T>(fn: () => Promise<T>, limitMs = 60_000): Promise<T> {
  const deadline = performance.now() + limitMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (performance.now() > deadline) throw err;
      await sleep(200);
    }
  }
}

function notFoundOk(err: unknown): undefined {
  if ((err as { code?: number }).code === 404) return undefined;
  throw err;
}

/** 50 at a time; `midway` is called once a third of them are done. */
async function inBatches<T>(
  items: readonly T[],
  midway: () => void,
  fn: (item: T, i: number) => Promise<void>,
): Promise<void> {
  const indexed = items.map((item, i) => ({ item, i }));
  const batch = Math.max(1, Math.min(50, Math.ceil(items.length / 3)));
  for (let start = 0; start < indexed.length; start += batch) {
    if (start >= items.length / 3) midway();
    await Promise.all(indexed.slice(start, start + batch).map(({ item, i }) => fn(item, i)));
  }
}

async function until(check: () => Promise<boolean>, limitMs: number): Promise<void> {
  const deadline = performance.now() + limitMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`no leader within ${limitMs} ms`);
    await sleep(250);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
