/**
 * `planLoadBalancer` on the Compute emulator: the plan lists the writes ensure would make, with
 * the names of what they touch, makes none itself (counted at the gate, and the emulator's
 * inventory is unchanged), and ensure right after makes exactly the listed writes.
 * deploy/gcp/role-readonly.yaml grants exactly the permissions plans and their orphan listing use.
 * `kube-lbc plan` plans a Service annotated `kube-lbc.io/release: "true"` as the sync treats it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { plan, type PlanOptions } from '../../../app/plan.js';
import type { LoadBalancerProvider } from '../../../contract/provider.js';
import { testCallContext } from '../../../contract/testing.js';
import { noopLogger } from '../../../contract/logger.js';
import { ReadOnlyCloudCalls } from '../../../runtime/read-only-calls.js';
import { startApiServer } from '../../../sandbox/apiserver/index.js';
import type { ComputeEmulator } from '../../../sandbox/compute/index.js';
import {
  newPostedService,
  newService,
  tweakAddPorts,
  tweakAnnotations,
  tweakFinalizer,
} from '../../fixtures/builders.js';
import {
  clusterName,
  gcpConfig,
  inventoryOf,
  newGcpProvider,
  nodesOf,
  RecordingCalls,
  startEmulator,
  widened,
} from './harness.js';

const ctx = testCallContext();

describe('gcp planLoadBalancer on the Compute emulator', function () {
  this.timeout(60_000);
  let emu: ComputeEmulator;
  let behind: RecordingCalls;
  let readOnly: ReadOnlyCloudCalls;
  let planner: LoadBalancerProvider;

  beforeEach(async () => {
    emu = await startEmulator();
    behind = new RecordingCalls();
    behind.configure(widened);
    readOnly = new ReadOnlyCloudCalls(behind);
    planner = await newGcpProviderBehind(emu, readOnly);
  });
  afterEach(async () => {
    await planner.close?.();
    await emu.close();
  });

  it('names every write of a new Service and makes none: reads only, the cloud unchanged', async () => {
    const svc = newService('web', tweakAddPorts({ name: 'dns', port: 53, protocol: 'UDP' }));
    const nodes = nodesOf(emu, 1, 4);
    const before = inventoryOf(emu);

    const changes = await planner.planLoadBalancer!(ctx, clusterName, svc, nodes);

    assert.deepEqual(readOnly.refused, []);
    assert.deepEqual(behind.writes(), [], 'no write reached Compute');
    assert.deepEqual(inventoryOf(emu), before);
    const text = changes.map((c) => c.description).join('\n');
    assert.match(text, /^create address \S+/m);
    assert.match(text, /^create instance group \S+ in us-central1-a$/m);
    assert.match(text, /^add 1 instances to instance group \S+ in us-central1-b$/m);
    assert.match(text, /^create health check \S+/m);
    assert.match(text, /^create backend service \S+/m);
    // TCP and UDP on one address: one L3_DEFAULT rule, as GKE makes for mixed protocols.
    assert.match(text, /^create forwarding rule \S+-l3$/m);
    assert.match(text, /^create firewall \S+/m);

    const applier = await newGcpProvider(emu, (behind = new RecordingCalls()));
    await applier.ensureLoadBalancer(ctx, clusterName, svc, nodes);
    await applier.close?.();
    assert.deepEqual(
      behind.writes(),
      changes.map((c) => c.operation),
    );
    assert.deepEqual(await planner.planLoadBalancer!(ctx, clusterName, svc, nodes), []);
  });

  it('needs no permission the read-only role lacks, and the role grants nothing it does not use', async () => {
    const svc = newService('web');
    const nodes = nodesOf(emu, 1, 2);
    await planner.planLoadBalancer!(ctx, clusterName, svc, nodes);
    const applier = await newGcpProvider(emu);
    await applier.ensureLoadBalancer(ctx, clusterName, svc, nodes);
    await applier.close?.();
    const changed = newService('web', tweakAddPorts({ name: 'dns', port: 53, protocol: 'UDP' }));
    changed.metadata!.uid = svc.metadata!.uid;
    await planner.planLoadBalancer!(ctx, clusterName, changed, nodesOf(emu, 1, 4));
    await planner.listLoadBalancers!(ctx, clusterName);

    const needed = new Set(readOnly.reads.map(permissionOf));
    const role = parse(await readFile('deploy/gcp/role-readonly.yaml', 'utf8')) as {
      includedPermissions: string[];
    };
    const granted = new Set(role.includedPermissions);
    assert.deepEqual([...needed].filter((p) => !granted.has(p)).sort(), [], 'used, not granted');
    assert.deepEqual([...granted].filter((p) => !needed.has(p)).sort(), [], 'granted, unused');
    for (const p of granted) assert.match(p, /^compute\.[A-Za-z]+\.(get|list)$/);
  });

  it('plans a released Service as the sync does: the release while the finalizer is on, then nothing', async () => {
    const api = await startApiServer();
    try {
      const dir = await mkdtemp(join(tmpdir(), 'kube-lbc-gcp-plan-'));
      const options: PlanOptions = {
        kubeconfig: join(dir, 'kubeconfig'),
        cloudConfig: join(dir, 'cloud.json'),
        cloudProvider: 'gcp',
        clusterName,
        classes: { loadBalancerClasses: [], handleUnclassed: true },
        output: 'text',
      };
      await writeFile(options.kubeconfig!, api.kubeconfigYaml());
      await writeFile(options.cloudConfig!, JSON.stringify(gcpConfig(emu)));
      const core = api.kubeConfig().makeApiClient(CoreV1Api);
      const svc = await core.createNamespacedService({
        namespace: 'default',
        body: newPostedService(
          'web',
          tweakFinalizer,
          tweakAnnotations({ 'kube-lbc.io/release': 'true' }),
        ),
      });
      const applier = await newGcpProvider(emu);
      await applier.ensureLoadBalancer(ctx, clusterName, svc, nodesOf(emu, 1, 4));

      const pending = await plan(options);
      assert.deepEqual(
        pending.services.map((s) => [s.service, s.changes.map((c) => c.operation)]),
        [['default/web', ['releaseLoadBalancer']]],
      );
      assert.deepEqual(pending.calls.refused, []);

      await applier.releaseLoadBalancer!(ctx, clusterName, svc);
      await applier.close?.();
      await core.patchNamespacedService(
        { namespace: 'default', name: 'web', body: { metadata: { finalizers: [] } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      const before = inventoryOf(emu);
      const done = await plan(options);
      // Not the take-back an ensure would make (labels off, descriptions back), nor an orphan.
      assert.deepEqual(done.services, [
        { service: 'default/web', changes: [], note: 'released, kube-lbc leaves it alone' },
      ]);
      assert.deepEqual(done.orphans, []);
      assert.deepEqual(inventoryOf(emu), before);
    } finally {
      await api.close();
    }
  });
});

async function newGcpProviderBehind(
  emu: ComputeEmulator,
  gate: ReadOnlyCloudCalls,
): Promise<LoadBalancerProvider> {
  const { createGcpProvider } = await import('../../../providers/gcp/index.js');
  const { gcpConfig } = await import('./harness.js');
  return createGcpProvider({
    config: gcpConfig(emu),
    clusterName,
    logger: noopLogger,
    cloudCalls: gate,
    cluster: { services: () => [], nodes: () => [] },
  });
}

/**
 * The IAM permission a Compute method needs (cloud.google.com/compute/docs/access/iam-permissions):
 * `<collection>.<get|list>`; an aggregated list is a list, and listing a group's instances is a
 * get of the group.
 */
function permissionOf(operation: string): string {
  const [collection = '', method = ''] = operation.split('.');
  const verb = method === 'listInstances' ? 'get' : /list/i.test(method) ? 'list' : 'get';
  return `compute.${collection}.${verb}`;
}
