/**
 * Memory and calls at scale: `--nodes` Nodes and `--services` LoadBalancer Services on the API
 * emulator, then kube-lbc (default flags, fake provider) started against them; then one more Node
 * joins. The emulator and the controller each run in a child process of their own, so the
 * controller's peak RSS is its own. Prints the time to all Ready, the controller's peak RSS and
 * heap, cloud calls per Service, and the calls one Node joining causes.
 *
 *   npm run build:bench && node dist/bench/scale.js [--services 10000] [--nodes 1000] [--latency-ms 0]
 *     [--snapshot /tmp/prefix] [--node-options="--max-semi-space-size=4"]
 *
 * Run it compiled: under tsx the controller's process also holds the TypeScript loader (about
 * 80 MB more RSS). A heap snapshot blocks the controller for seconds, long enough to lose the
 * lease, so the Node-join figures of a run with --snapshot mean nothing.
 */
import { parseArgs } from 'node:util';
import { CoreV1Api, type V1ManagedFieldsEntry, type V1Service } from '@kubernetes/client-node';
import { Informer } from '../runtime/informer.js';
import { reuseConnections } from '../runtime/kube-client.js';
import { startApiServerProcess } from './support/apiserver-process.js';
import { startControllerProcess, type ControllerStats } from './support/controller-process.js';
import { kubeApiFor } from '../runtime/kube-api.js';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '10000' },
    nodes: { type: 'string', default: '1000' },
    'latency-ms': { type: 'string', default: '0' },
    // Heap snapshots of the controller (<prefix>-ready and -joined .heapsnapshot), for DevTools.
    snapshot: { type: 'string' },
    // V8 flags for the controller's process, e.g. --node-options="--max-semi-space-size=4".
    'node-options': { type: 'string', default: '' },
  },
});
const N = Number(values.services);
const NODES = Number(values.nodes);
const latencyMs = Number(values['latency-ms']);
// The default range holds 2,768 NodePorts; 10,000 Services need a wider one on both sides.
const nodePortRange = { min: 20000, max: 65000 };

const api = await startApiServerProcess({ nodePortRange });
const kubeConfig = reuseConnections(api.kubeConfig());
const core = kubeConfig.makeApiClient(CoreV1Api);

/** Runs `fn(0..n-1)` with at most `width` in flight. */
async function inParallel(n: number, width: number, fn: (i: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}
// Objects shaped like a real cluster's, where the emulator would leave them lean: the server's
// managedFields (one field tree per writer) on both, and on Nodes the kubelet's image list.
const fields = (...paths: string[]) =>
  Object.fromEntries(paths.map((p) => [`f:${p}`, { '.': {}, 'f:name': {}, 'f:value': {} }]));
const managed = (
  manager: string,
  subresource: string | undefined,
  ...paths: string[]
): V1ManagedFieldsEntry => ({
  manager,
  operation: 'Update',
  apiVersion: 'v1',
  time: new Date('2024-01-01T00:00:00Z'),
  fieldsType: 'FieldsV1',
  fieldsV1: { 'f:metadata': fields('labels', 'annotations'), 'f:spec': fields(...paths) },
  ...(subresource ? { subresource } : {}),
});
const node = (i: number) => ({
  metadata: {
    name: `node-${i}`,
    labels: { 'kubernetes.io/hostname': `node-${i}`, 'topology.kubernetes.io/zone': `z${i % 3}` },
    managedFields: [
      managed('kubelet', undefined, 'providerID', 'podCIDR'),
      managed(
        'kubelet',
        'status',
        'addresses',
        'allocatable',
        'capacity',
        'conditions',
        'daemonEndpoints',
        'images',
        'nodeInfo',
      ),
      managed('kube-controller-manager', undefined, 'podCIDRs', 'taints'),
    ],
  },
  spec: { providerID: `fake://node-${i}` },
  status: {
    addresses: [
      { type: 'InternalIP', address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` },
    ],
    conditions: [{ type: 'Ready', status: 'True' }],
    images: Array.from({ length: 40 }, (_, k) => ({
      names: [
        `registry.example.com/team-${k % 7}/app-${k}@sha256:${k.toString(16).padStart(64, '0')}`,
        `registry.example.com/team-${k % 7}/app-${k}:v1.${k}.0`,
      ],
      sizeBytes: 10_000_000 + k,
    })),
  },
});
const service = (i: number): V1Service => ({
  metadata: {
    name: `svc-${i}`,
    labels: { app: `app-${i % 100}` },
    managedFields: [
      managed('kubectl-client-side-apply', undefined, 'ports', 'selector', 'type'),
      managed('kube-lbc', 'status', 'loadBalancer', 'conditions'),
    ] as V1Service['metadata'] extends infer M
      ? M extends { managedFields?: infer F }
        ? F
        : never
      : never,
  },
  spec: {
    type: 'LoadBalancer',
    selector: { app: `app-${i % 100}` },
    ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
  },
});

const setupStart = performance.now();
await inParallel(NODES, 16, (i) => core.createNode({ body: node(i) }));
await core.createNamespace({ body: { metadata: { name: 'bench' } } });
await inParallel(N, 16, (i) =>
  core.createNamespacedService({ namespace: 'bench', body: service(i) }),
);
const setup = (performance.now() - setupStart) / 1000;

// The bench's own watch, in this process: Ready means the ingress is in the API.
const watcher = new Informer<V1Service>({
  watcher: kubeApiFor(kubeConfig),
  name: 'bench',
  path: '/api/v1/namespaces/bench/services',
  list: () => core.listNamespacedService({ namespace: 'bench' }),
});
const ready = new Set<string>();
let allReady: () => void;
const readyDone = new Promise<void>((r) => (allReady = r));
const onChange = (svc: V1Service) => {
  if ((svc.status?.loadBalancer?.ingress?.length ?? 0) === 0) return;
  ready.add(svc.metadata!.name!);
  if (ready.size === N) allReady();
};
watcher.addHandlers({ add: onChange, update: (_o, n) => onChange(n) });
await watcher.start();

const controller = await startControllerProcess({
  url: api.url,
  latencyMs,
  flags: ['--service-node-port-range', `${nodePortRange.min}-${nodePortRange.max}`],
  execArgv: values['node-options']!.split(' ').filter(Boolean),
});
await readyDone;
const toReady = (Date.now() - controller.startedAt) / 1000;
const atReady = await controller.stats();
const liveAtReady = (await controller.stats(true)).liveHeapUsed!;
if (values.snapshot) await controller.snapshot(`${values.snapshot}-ready.heapsnapshot`);

// One Node joins: every Service targets every eligible node, so each needs one host update.
const sum = (s: ControllerStats) => Object.values(s.calls).reduce((a, b) => a + b, 0);
const joinedAt = performance.now();
await core.createNode({ body: node(NODES) });
let after = await controller.stats();
let settledAt = performance.now();
// Settled: no new call for 3 s (three node-sync batch windows).
for (let quietSince = performance.now(); performance.now() - quietSince < 3000;) {
  await new Promise((r) => setTimeout(r, 250));
  const now = await controller.stats();
  if (sum(now) !== sum(after)) {
    quietSince = performance.now();
    settledAt = quietSince;
  }
  after = now;
}
if (values.snapshot) await controller.snapshot(`${values.snapshot}-joined.heapsnapshot`);
const liveAfterJoin = (await controller.stats(true)).liveHeapUsed!;
const joinCalls = Object.entries(after.calls)
  .map(([m, n]) => [m, n - (atReady.calls[m] ?? 0)] as const)
  .filter(([, n]) => n > 0);
const perService = Object.entries(after.updateHostsByService).map(
  ([svc, n]) => n - (atReady.updateHostsByService[svc] ?? 0),
);
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

console.log(
  `kube-lbc scale bench: ${N} Services, ${NODES} Nodes, fake cloud at ${latencyMs} ms per call, default flags`,
);
console.log(`setup (API writes)    ${setup.toFixed(1)} s, before the controller starts`);
console.log(
  `all Ready             ${toReady.toFixed(1)} s after the controller started (leader after ${((controller.leadingAt - controller.startedAt) / 1000).toFixed(1)} s)`,
);
console.log(
  `controller memory     peak RSS ${mib(after.peakRss)} (at all Ready ${mib(atReady.peakRss)})   heap used peak ${mib(after.peakHeapUsed)}, at all Ready ${mib(atReady.heapUsed)}`,
);
console.log(
  `  live heap (after a full GC)   at all Ready ${mib(liveAtReady)}, after the Node joined ${mib(liveAfterJoin)}`,
);
console.log(
  `cloud calls/Service   ${(sum(atReady) / N).toFixed(2)}   (${Object.entries(atReady.calls)
    .map(([m, n]) => `${m} ${(n / N).toFixed(2)}`)
    .join(', ')})`,
);
console.log(
  `one Node joining      ${joinCalls.map(([m, n]) => `${m} ${n}`).join(', ') || 'no calls'}; UpdateHosts per Service: min ${perService.length ? Math.min(...perService) : 0} max ${Math.max(...perService, 0)}, over ${perService.filter((n) => n > 0).length} Services; last call ${((settledAt - joinedAt) / 1000).toFixed(1)} s after the join`,
);

await watcher.stop();
await controller.stop();
await api.close();
process.exit(0);
