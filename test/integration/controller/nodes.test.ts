import assert from 'node:assert/strict';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { findReadyCondition } from '../../../controllers/service/status.js';
import { startTestCluster, type TestCluster } from '../../support/cluster.js';
import { newNode, newPostedService, tweakNodeLabels } from '../../fixtures/builders.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

function node(name: string) {
  const n = newNode(name);
  delete n.metadata!.uid;
  delete n.metadata!.resourceVersion;
  return n;
}

describe('node changes', () => {
  let c: TestCluster;
  const nodesOf = (i: number) => c.cloud.loadBalancers()[i]!.nodes;

  beforeEach(async () => {
    c = await startTestCluster({ nodes: [node('node-1'), node('node-2')] });
    for (const name of ['a', 'b', 'c'])
      await c.core.createNamespacedService({ namespace: 'default', body: newPostedService(name) });
    await c.until(
      () =>
        ['a', 'b', 'c'].every(
          (n) => findReadyCondition(c.cached('default', n) ?? {})?.reason === 'Ready',
        ),
      'three ready Services',
    );
    // Each finalizer write queued its Service once more: those syncs belong to the setup.
    await c.idle();
    c.cloud.clearCalls();
  });
  afterEach(async () => c.stop());

  it('updates the hosts of every load balancer once when a node joins', async () => {
    await c.core.createNode({ body: node('node-3') });
    await c.until(
      () => c.cloud.loadBalancers().every((lb) => lb.nodes.length === 3),
      'three nodes everywhere',
    );
    const writes = c.cloud.writes();
    assert.deepEqual(
      writes.map((w) => w.method),
      ['UpdateHosts', 'UpdateHosts', 'UpdateHosts'],
    );
    assert.deepEqual(new Set(writes.map((w) => w.service)).size, 3, 'one call per load balancer');
  });

  it('batches a burst of node events into one update per load balancer', async () => {
    await Promise.all(
      ['node-3', 'node-4', 'node-5'].map((n) => c.core.createNode({ body: node(n) })),
    );
    await c.until(
      () => c.cloud.loadBalancers().every((lb) => lb.nodes.length === 5),
      'five nodes everywhere',
    );
    assert.ok(
      c.cloud.writes().length <= 6,
      `at most two passes over three load balancers, got ${c.cloud.writes().length}`,
    );
  });

  it('removes a node that leaves', async () => {
    await c.core.deleteNode({ name: 'node-2' });
    await c.until(
      () => c.cloud.loadBalancers().every((lb) => lb.nodes.join() === 'node-1'),
      'node-2 gone',
    );
    assert.equal(c.cloud.writes().length, 3);
  });

  it('removes a node labelled exclude-from-external-load-balancers', async () => {
    await c.core.patchNode(
      {
        name: 'node-1',
        body: {
          metadata: {
            labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': 'true' },
          },
        },
      },
      mergePatch,
    );
    await c.until(
      () => nodesOf(0).join() === 'node-2' && nodesOf(2).join() === 'node-2',
      'node-1 excluded',
    );
  });

  it('does nothing for a heartbeat or a NotReady flap', async () => {
    const before = c.syncs.length;
    await c.core.patchNodeStatus(
      {
        name: 'node-1',
        body: {
          status: {
            conditions: [
              {
                type: 'Ready',
                status: 'False',
                reason: 'KubeletDown',
                lastHeartbeatTime: new Date(),
              },
            ],
          },
        },
      },
      mergePatch,
    );
    await c.core.patchNode(
      { name: 'node-2', body: { metadata: { labels: { unrelated: 'x' } } } },
      mergePatch,
    );
    // A node that really changes afterwards proves the flap's window has passed through node sync.
    await c.core.createNode({ body: node('node-3') });
    await c.until(
      () => c.cloud.loadBalancers().every((lb) => lb.nodes.length === 3),
      'node-3 joined',
    );
    assert.deepEqual(
      c.cloud.writes().map((w) => w.method),
      ['UpdateHosts', 'UpdateHosts', 'UpdateHosts'],
    );
    assert.equal(c.syncs.length - before, 3, 'one sync per Service, for node-3 only');
  });

  it('lets a node back in when the exclude label is set to "false"', async () => {
    await c.core.patchNode(
      { name: 'node-1', body: { metadata: { labels: tweakLabels('true') } } },
      mergePatch,
    );
    await c.until(() => nodesOf(0).join() === 'node-2', 'excluded');
    await c.core.patchNode(
      { name: 'node-1', body: { metadata: { labels: tweakLabels('false') } } },
      mergePatch,
    );
    await c.until(() => nodesOf(0).length === 2, 'included again');
  });
});

function tweakLabels(value: string) {
  const n = newNode(
    'x',
    tweakNodeLabels({ 'node.kubernetes.io/exclude-from-external-load-balancers': value }),
  );
  return n.metadata!.labels!;
}
