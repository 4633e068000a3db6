import assert from 'node:assert/strict';
import type { V1Service } from '@kubernetes/client-node';
import { allocateNodePorts } from '../../../controllers/service/nodeports.js';
import { findReadyCondition } from '../../../controllers/service/status.js';
import { startTestCluster, type TestCluster } from '../../support/cluster.js';
import { newNode, newService } from '../../fixtures/builders.js';

function noNodePorts(name: string, ports = 2): V1Service {
  const svc = newService(name);
  delete svc.metadata!.uid;
  delete svc.metadata!.resourceVersion;
  delete svc.status;
  svc.spec!.allocateLoadBalancerNodePorts = false;
  svc.spec!.ports = Array.from({ length: ports }, (_, i) => ({
    name: `p${i}`,
    port: 80 + i,
    protocol: 'TCP',
  }));
  return svc;
}

/**
 * Creates `svc`; skips the test when the server allocated NodePorts anyway (1.20 without its
 * ServiceLBNodePortControl gate drops allocateLoadBalancerNodePorts).
 */
async function createWithoutNodePorts(
  ctx: Mocha.Context,
  c: TestCluster,
  svc: V1Service,
): Promise<V1Service> {
  const created = await c.core.createNamespacedService({ namespace: 'default', body: svc });
  if (created.spec?.ports?.some((p) => p.nodePort)) ctx.skip();
  return created;
}

describe('NodePort allocation', () => {
  let c: TestCluster;
  afterEach(async () => c.stop());

  it('allocates NodePorts the API server left out, for a provider that targets nodes', async function () {
    c = await startTestCluster({ nodes: [newNode('node-1')] });
    await createWithoutNodePorts(this, c, noNodePorts('web'));
    const svc = await c.until(() => {
      const s = c.cached('default', 'web');
      return s && findReadyCondition(s)?.reason === 'Ready' && s;
    }, 'ready');
    const nodePorts = svc.spec!.ports!.map((p) => p.nodePort!);
    assert.equal(nodePorts.length, 2);
    assert.ok(nodePorts.every((p) => p >= 30000 && p <= 32767));
    assert.notEqual(nodePorts[0], nodePorts[1]);
    assert.deepEqual(
      c.cloud.loadBalancers()[0]!.ports.map((p) => p.nodePort),
      nodePorts,
    );
  });

  it('leaves them out for a provider that does not target nodes', async function () {
    c = await startTestCluster({
      nodes: [newNode('node-1')],
      capabilities: { targetsNodePorts: false },
    });
    await createWithoutNodePorts(this, c, noNodePorts('web'));
    const svc = await c.until(() => {
      const s = c.cached('default', 'web');
      return s && findReadyCondition(s)?.reason === 'Ready' && s;
    }, 'ready');
    assert.deepEqual(
      svc.spec!.ports!.map((p) => p.nodePort),
      [undefined, undefined],
    );
  });

  it('picks another port when the API server says one is taken', async function () {
    // A stale cache (it has not seen the squatter yet) makes the allocator try the taken port;
    // the API server answers 422 and the allocator moves on. The running controller handles only
    // a class no Service here has, so it leaves both to this test (1.20 has no class to set).
    c = await startTestCluster({
      nodes: [newNode('node-1')],
      config: { classes: { loadBalancerClasses: ['example.com/lb'], handleUnclassed: false } },
    });
    // 1.20 checks no explicit NodePort on an update of a Service with allocateLoadBalancerNodePorts
    // false (its update path skips the allocator): it accepts the taken port, so there is no 422.
    if (c.serverMinor <= 20) this.skip();
    const squatter = noNodePorts('squatter', 1);
    squatter.spec!.type = 'NodePort';
    delete squatter.spec!.allocateLoadBalancerNodePorts;
    squatter.spec!.ports![0]!.nodePort = 30000;
    await c.core.createNamespacedService({ namespace: 'default', body: squatter });
    const web = await createWithoutNodePorts(this, c, noNodePorts('web', 1));
    const allocated = await allocateNodePorts(c.core, web, {
      range: { min: 30000, max: 30009 },
      inUse: () => [],
      random: () => 0,
    });
    assert.equal(allocated.spec!.ports![0]!.nodePort, 30001);
  });
});
