/**
 * N LoadBalancer Services created at once against the API emulator, the controller running with
 * its default flags and the fake provider charging a latency per cloud call. Prints per-Service
 * create-to-ingress latency (p50, p99), makespan, cleanup time after deleting them all, cloud
 * calls and API writes per Service, and memory.
 *
 *   npx tsx bench/controller-scale.ts [--services 200] [--latency-ms 100] [-- extra run flags]
 */
import { parseArgs } from 'node:util';
import { ApiException, CoreV1Api, type V1Service } from '@kubernetes/client-node';
import { configFromArgs } from '../app/options/flags.js';
import { loadKubeConfig } from '../app/kubeconfig-client.js';
import { startController } from '../app/controller-manager.js';
import { sharedFakeCloud } from '../providers/fake/index.js';
import { Informer } from '../runtime/informer.js';
import { reuseConnections } from '../runtime/kube-client.js';
import { noopLogger } from '../contract/logger.js';
import { startApiServerThread } from './support/apiserver-thread.js';
import { accessFromKubeConfig } from '../runtime/cluster-access.js';
import { kubeApiFor } from '../runtime/kube-api.js';

const { values, positionals } = parseArgs({
  options: {
    services: { type: 'string', default: '200' },
    'latency-ms': { type: 'string', default: '100' },
    // A real API server instead of the emulator (scripts/real-apiserver/start.sh prints one).
    kubeconfig: { type: 'string' },
  },
  allowPositionals: true,
});
const N = Number(values.services);
const latencyMs = Number(values['latency-ms']);

// Default flags, except what cannot work in one process: fixed HTTP ports.
const config = configFromArgs([
  '--cloud-provider',
  'fake',
  '--metrics-bind-address',
  '0',
  '--health-probe-bind-address',
  '0',
  ...positionals,
]);

const external = values.kubeconfig;
// Fresh namespaces per run: a real API server without a namespace controller never finishes
// deleting the last run's.
const runId = Date.now().toString(36);
const benchNs = `bench-${runId}`;
const warmupNs = `warmup-${runId}`;
const api = external ? undefined : await startApiServerThread();
const kubeConfig = reuseConnections(external ? loadKubeConfig(external) : api!.kubeConfig());
const audit = async () => (api ? api.audit() : []);
const core = kubeConfig.makeApiClient(CoreV1Api);
// A real API server may still have it from an earlier run.
await core
  .createNode({
    body: {
      metadata: { name: 'node-1' },
      spec: { providerID: 'fake://node-1' },
      status: { addresses: [{ type: 'InternalIP', address: '127.0.0.2' }] },
    },
  })
  .catch((err) => {
    if (!(err instanceof ApiException && err.code === 409)) throw err;
  });
const cloud = sharedFakeCloud();
const running = await startController(config, {
  cluster: accessFromKubeConfig(kubeConfig),
  cloudConfig: { latencyMs },
  logger: noopLogger,
  version: 'bench',
});
const startedAt = performance.now();
await running.leading;
const leaderAfter = (performance.now() - startedAt) / 1000;

// The bench watches through its own informer, as a user's `kubectl get -w` would.
const watcher = new Informer<V1Service>({
  watcher: kubeApiFor(kubeConfig),
  name: 'bench',
  path: `/api/v1/namespaces/${benchNs}/services`,
  list: () => core.listNamespacedService({ namespace: benchNs }),
});
const created = new Map<string, number>();
const ready = new Map<string, number>();
const gone = new Map<string, number>();
let allReady: () => void;
let allGone: () => void;
const readyDone = new Promise<void>((r) => (allReady = r));
const goneDone = new Promise<void>((r) => (allGone = r));
const onChange = (svc: V1Service) => {
  const name = svc.metadata!.name!;
  if (!ready.has(name) && (svc.status?.loadBalancer?.ingress?.length ?? 0) > 0) {
    ready.set(name, performance.now());
    if (ready.size === N) allReady();
  }
};
watcher.addHandlers({
  add: onChange,
  update: (_o, n) => onChange(n),
  delete: (svc) => {
    gone.set(svc.metadata!.name!, performance.now());
    if (gone.size === N) allGone();
  },
});
await core.createNamespace({ body: { metadata: { name: benchNs } } });
await core.createNamespace({ body: { metadata: { name: warmupNs } } });
await watcher.start();
// A warm-up round outside the measured namespace, so JIT compilation is not what we measure.
await Promise.all(
  Array.from({ length: 50 }, (_, i) =>
    core.createNamespacedService({
      namespace: warmupNs,
      body: {
        metadata: { name: `w-${i}` },
        spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }] },
      },
    }),
  ),
);
while (
  running.informers.services
    .list()
    .some((s) => s.metadata?.namespace === warmupNs && !s.status?.loadBalancer?.ingress?.length)
) {
  await new Promise((r) => setTimeout(r, 50));
}
await Promise.all(
  Array.from({ length: 50 }, (_, i) =>
    core.deleteNamespacedService({ namespace: warmupNs, name: `w-${i}` }),
  ),
);
while (
  running.informers.services.list().some((s) => s.metadata?.namespace === warmupNs) ||
  cloud.loadBalancers().length
) {
  await new Promise((r) => setTimeout(r, 50));
}
const auditStart = (await audit()).length;
const callsStart = cloud.calls.length;

const t0 = performance.now();
await Promise.all(
  Array.from({ length: N }, async (_, i) => {
    const name = `svc-${i}`;
    created.set(name, performance.now());
    await core.createNamespacedService({
      namespace: benchNs,
      body: {
        metadata: { name },
        spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }] },
      },
    });
  }),
);
await readyDone;
const makespan = (performance.now() - t0) / 1000;
// Events trail the syncs (they are written one at a time); count them with the create.
await running.events.flush();
const latencies = [...ready]
  .map(([name, at]) => (at - created.get(name)!) / 1000)
  .sort((a, b) => a - b);
const createCalls = cloud.calls.length - callsStart;
const createAudit = (await audit()).slice(auditStart);

const t1 = performance.now();
const deletedAt = performance.now();
await Promise.all(
  Array.from({ length: N }, (_, i) =>
    core.deleteNamespacedService({ name: `svc-${i}`, namespace: benchNs }),
  ),
);
await goneDone;
const cleanup = (performance.now() - t1) / 1000;
await running.events.flush();
void deletedAt;
const allAudit = (await audit()).slice(auditStart);
const deleteCalls = cloud.calls.length - callsStart - createCalls;

const writesBy = (records: typeof allAudit) => {
  const writes = records.filter((r) => ['create', 'update', 'patch', 'delete'].includes(r.verb));
  // The bench's own creates and deletes of the Services are not the controller's.
  const own = writes.filter(
    (r) =>
      r.resource === 'services' && !r.subresource && (r.verb === 'create' || r.verb === 'delete'),
  );
  const byKind = new Map<string, number>();
  for (const r of writes) {
    if (own.includes(r)) continue;
    const k = `${r.verb} ${r.resource}${r.subresource ? '/' + r.subresource : ''}`;
    byKind.set(k, (byKind.get(k) ?? 0) + 1);
  }
  return { total: writes.length - own.length, byKind };
};
const createWrites = writesBy(createAudit);
const all = writesBy(allAudit);
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)]!;
const mem = process.memoryUsage();

console.log(
  `kube-lbc controller bench: ${N} Services, fake cloud at ${latencyMs} ms per call, default flags (--concurrent-service-syncs ${config.concurrentServiceSyncs})`,
);
console.log(`leader elected after  ${leaderAfter.toFixed(3)} s (not counted below)`);
console.log(
  `create-to-ingress     p50 ${pct(50).toFixed(3)} s   p99 ${pct(99).toFixed(3)} s   min ${latencies[0]!.toFixed(3)} s   max ${latencies.at(-1)!.toFixed(3)} s`,
);
console.log(
  `makespan              ${makespan.toFixed(3)} s   (${(N / makespan).toFixed(1)} Services converged per second)`,
);
console.log(
  `cleanup after delete  ${cleanup.toFixed(3)} s   (all ${N} gone from the API, load balancers left: ${cloud.loadBalancers().length})`,
);
console.log(
  `cloud calls/Service   create ${(createCalls / N).toFixed(2)}   delete ${(deleteCalls / N).toFixed(2)}`,
);
if (api) {
  console.log(
    `API writes/Service    create ${(createWrites.total / N).toFixed(2)}   create+delete ${(all.total / N).toFixed(2)}`,
  );
  console.log(
    `  by kind: ${[...all.byKind].map(([k, v]) => `${k}=${(v / N).toFixed(2)}`).join(', ')}`,
  );
} else {
  console.log(
    `API server            ${kubeConfig.getCurrentCluster()?.server} (API writes are counted on the emulator only)`,
  );
}
console.log(
  `memory                rss ${(mem.rss / 2 ** 20).toFixed(0)} MiB   heap used ${(mem.heapUsed / 2 ** 20).toFixed(0)} MiB (controller and bench${api ? '; the emulator runs in its own thread' : ''})`,
);

await watcher.stop();
await running.stop();
await api?.close();
process.exit(0);
