/**
 * End to end: the real ServiceController on the API emulator with `--cloud-provider gcp` (through
 * the registry, as `kube-lbc run` loads it) against the Compute emulator. A user creates a
 * Service and the controller publishes the forwarding rules' address; nodes join and leave and
 * the instance groups follow; an externalTrafficPolicy switch moves the health check; source
 * ranges reach the firewall; the Service goes and nothing is left. A released Service's load
 * balancer stays, unclaimed, also once the Service is deleted.
 */
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { PatchStrategy, setHeaderOptions, type V1Node } from '@kubernetes/client-node';
import { hasCleanupFinalizer } from '../../../controllers/service/predicates.js';
import { findReadyCondition } from '../../../controllers/service/status.js';
import { createProvider } from '../../../providers/registry.js';
import { testCallContext as ctx } from '../../../contract/testing.js';
import type { ProviderFactory } from '../../../contract/provider.js';
import { startApiServer } from '../../../sandbox/apiserver/index.js';
import type { ComputeEmulator } from '../../../sandbox/compute/index.js';
import { newPostedService } from '../../fixtures/builders.js';
import { startTestCluster, type TestCluster } from '../../support/cluster.js';
import { gcpConfig, nodesOf, startEmulator } from './harness.js';

const clusterName = 'kube-lbc-e2e';
const provider: ProviderFactory = (options) => createProvider('gcp', options);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

function posted(node: V1Node): V1Node {
  delete node.metadata!.uid;
  delete node.metadata!.resourceVersion;
  return node;
}

describe('kube-lbc with the gcp provider, end to end against the Compute emulator', function () {
  this.timeout(60_000);
  let emu: ComputeEmulator;
  let c: TestCluster | undefined;

  before(async () => {
    emu = await startEmulator();
  });
  after(async () => emu?.close());
  beforeEach(async () => {
    emu.reset();
    c = await startTestCluster({
      provider,
      cloudConfig: gcpConfig(emu),
      config: { clusterName },
      nodes: nodesOf(emu, 1, 4).map(posted),
    });
  });
  afterEach(async () => c?.stop());

  const items = (collection: string) => emu.inventory().filter((r) => r.collection === collection);
  const members = () =>
    items('instanceGroups')
      .flatMap((g) => (g.members as string[]) ?? [])
      .sort()
      .join();

  it('publishes the address, follows nodes, the traffic policy and source ranges, and leaves nothing on delete', async () => {
    const cluster = c!;
    await cluster.core.createNamespacedService({
      namespace: 'default',
      body: newPostedService('web'),
    });
    const svc = await cluster.until(() => {
      const s = cluster.cached('default', 'web');
      return s && findReadyCondition(s)?.reason === 'Ready' && s;
    }, 'web to be Ready');
    const ingress = svc.status!.loadBalancer!.ingress![0]!;
    const [rule] = items('forwardingRules');
    assert.equal(ingress.ip, rule!.IPAddress, 'the forwarding rule address is published');
    assert.equal(ingress.ipMode, 'VIP');
    assert.deepEqual(rule!.ports, ['80']);
    assert.equal(members(), 'node-1,node-4', 'one group per zone, holding its node');
    const [hc] = items('healthChecks');
    assert.deepEqual(hc!.httpHealthCheck, { port: 10256, requestPath: '/healthz' });

    await cluster.core.createNode({ body: posted(nodesOf(emu, 2)[0]!) });
    await emu.until(() => members() === 'node-1,node-2,node-4', 'node-2 to join its group');
    await cluster.core.deleteNode({ name: 'node-4' });
    await emu.until(() => members() === 'node-1,node-2', 'node-4 to leave');

    await cluster.core.patchNamespacedService(
      {
        namespace: 'default',
        name: 'web',
        body: {
          spec: { externalTrafficPolicy: 'Local', loadBalancerSourceRanges: ['10.1.0.0/16'] },
        },
      },
      mergePatch,
    );
    const local = await cluster.until(() => {
      const s = cluster.cached('default', 'web');
      return s?.spec?.healthCheckNodePort ? s : undefined;
    }, 'a healthCheckNodePort');
    const port = local.spec!.healthCheckNodePort!;
    await emu.until(
      () => (items('healthChecks')[0]?.httpHealthCheck as { port?: number })?.port === port,
      'the health check to follow healthCheckNodePort',
    );
    await emu.until(
      () =>
        (
          items('firewalls').find((f) => String(f.name).endsWith('-fw'))?.sourceRanges as string[]
        )?.join() === '10.1.0.0/16',
      'the source ranges to reach the firewall',
    );
    await emu.until(
      () =>
        isDeepStrictEqual(
          items('firewalls').find((f) => String(f.name).endsWith('-fw-hc'))?.allowed,
          [{ ports: [String(port)], IPProtocol: 'tcp' }],
        ),
      "Google's probers to be let in on the new health-check port",
    );

    await cluster.core.deleteNamespacedService({ namespace: 'default', name: 'web' });
    await cluster.until(() => !cluster.cached('default', 'web'), 'web to be gone');
    assert.deepEqual(emu.inventory(), [], 'nothing is left, the shared groups included');
  });

  it('hands the load balancer back on kube-lbc.io/release, and leaves it when the Service goes', async () => {
    const cluster = c!;
    await cluster.core.createNamespacedService({
      namespace: 'default',
      body: newPostedService('web'),
    });
    await cluster.until(
      () => findReadyCondition(cluster.cached('default', 'web') ?? {})?.reason === 'Ready',
      'web to be Ready',
    );
    const serving = () => emu.inventory().map(({ description: _d, labels: _l, ...rest }) => rest);
    const made = serving();

    await cluster.core.patchNamespacedService(
      {
        namespace: 'default',
        name: 'web',
        body: { metadata: { annotations: { 'kube-lbc.io/release': 'true' } } },
      },
      mergePatch,
    );
    await cluster.until(() => {
      const s = cluster.cached('default', 'web');
      return s && !hasCleanupFinalizer(s);
    }, 'the finalizer to go with the release');
    assert.deepEqual(serving(), made, 'the release changed what serves traffic');
    assert.deepEqual(items('forwardingRules')[0]!.labels, { 'kube-lbc-released': 'true' });
    assert.deepEqual(await cluster.provider.listLoadBalancers!(ctx(), clusterName), []);

    await cluster.core.deleteNamespacedService({ namespace: 'default', name: 'web' });
    await cluster.until(() => !cluster.cached('default', 'web'), 'web to be gone');
    await cluster.idle();
    assert.deepEqual(serving(), made, 'deleting the released Service deleted cloud resources');
  });

  it('garbage-collects what a Service deleted while kube-lbc was down left', async () => {
    await c!.stop();
    c = undefined;
    const api = await startApiServer();
    try {
      const first = await startTestCluster({
        apiServer: api,
        provider,
        cloudConfig: gcpConfig(emu),
        config: { clusterName },
        nodes: nodesOf(emu, 1).map(posted),
      });
      await first.core.createNamespacedService({
        namespace: 'default',
        body: newPostedService('orphan'),
      });
      await first.until(
        () => findReadyCondition(first.cached('default', 'orphan') ?? {})?.reason === 'Ready',
        'orphan to be Ready',
      );
      await first.stop();

      // While kube-lbc is down, someone deletes the Service and strips its finalizer by hand.
      await first.core.deleteNamespacedService({ namespace: 'default', name: 'orphan' });
      await first.core.patchNamespacedService(
        { namespace: 'default', name: 'orphan', body: { metadata: { finalizers: null } } },
        mergePatch,
      );
      assert.equal(items('forwardingRules').length, 1, 'the load balancer outlived its Service');

      const second = await startTestCluster({
        apiServer: api,
        provider,
        cloudConfig: gcpConfig(emu),
        config: { clusterName, gcPeriodMs: 60_000 },
        nodes: [],
      });
      try {
        await emu.until(
          () => emu.inventory().every((r) => r.collection === 'instanceGroups'),
          'the GC to delete the orphan',
        );
      } finally {
        await second.stop();
      }
    } finally {
      await api.close();
    }
  });
});
