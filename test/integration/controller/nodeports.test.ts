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
  svc.spec!.ports = Array.from({ length: ports }, (_, i) => ({ name: `p${i}`, port: 80 + i, protocol: 'TCP' }));
  return svc;
}

describe('NodePort allocation', () => {
  let c: TestCluster;
  afterEach(async () => c.stop());

  it('allocates NodePorts the API server left out, for a provider that targets nodes', async () => {
    c = await startTestCluster({ nodes: [newNode('node-1')] });
    await c.core.createNamespacedService({ namespace: 'default', body: noNodePorts('web') });
    const svc = await c.until(() => {
      const s = c.cached('default', 'web');
      return s && findReadyCondition(s)?.reason === 'Ready' && s;
    }, 'ready');
    const nodePorts = svc.spec!.ports!.map((p) => p.nodePort!);
    assert.equal(nodePorts.length, 2);
    assert.ok(nodePorts.every((p) => p >= 30000 && p <= 32767));
    assert.notEqual(nodePorts[0], nodePorts[1]);
    assert.deepEqual(c.cloud.loadBalancers()[0]!.ports.map((p) => p.nodePort), nodePorts);
  });

  it('leaves them out for a provider that does not target nodes', async () => {
    c = await startTestCluster({ nodes: [newNode('node-1')], capabilities: { targetsNodePorts: false } });
    await c.core.createNamespacedService({ namespace: 'default', body: noNodePorts('web') });
    const svc = await c.until(() => {
      const s = c.cached('default', 'web');
      return s && findReadyCondition(s)?.reason === 'Ready' && s;
    }, 'ready');
    assert.deepEqual(svc.spec!.ports!.map((p) => p.nodePort), [undefined, undefined]);
  });

  it('picks another port when the API server says one is taken', async () => {
    // A stale cache (it has not seen the squatter yet) makes the allocator try the taken port;
    // the API server answers 422 and the allocator moves on.
    c = await startTestCluster({ nodes: [newNode('node-1')], apiServerOptions: { nodePortRange: { min: 30000, max: 30009 } } });
    const squatter = noNodePorts('squatter', 1);
    squatter.spec!.type = 'NodePort';
    delete squatter.spec!.allocateLoadBalancerNodePorts;
    squatter.spec!.ports![0]!.nodePort = 30000;
    await c.core.createNamespacedService({ namespace: 'default', body: squatter });
    // Another controller's class, so the running controller leaves it to this test.
    const theirs = noNodePorts('web', 1);
    theirs.spec!.loadBalancerClass = 'other.example.com/lb';
    const web = await c.core.createNamespacedService({ namespace: 'default', body: theirs });
    const allocated = await allocateNodePorts(c.core, web, { range: { min: 30000, max: 30009 }, inUse: () => [], random: () => 0 });
    assert.equal(allocated.spec!.ports![0]!.nodePort, 30001);
  });
});
