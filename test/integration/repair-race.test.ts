import assert from 'node:assert/strict';
import { createFakeCloud } from '../../providers/fake/index.js';
import { newNode, newPostedService } from '../fixtures/builders.js';
import { startTestCluster, type TestCluster } from '../support/cluster.js';

describe('a repair pass asked for during a sync', () => {
  let c: TestCluster;
  afterEach(async () => c.stop());

  it('is not lost: the Service is ensured again once the sync in flight finishes', async () => {
    const cloud = createFakeCloud({ latencyMs: 1 });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    cloud.sleep = () => held;
    c = await startTestCluster({ cloud, nodes: [newNode('node-1')] });
    await c.core.createNamespacedService({ namespace: 'default', body: newPostedService('web') });
    await c.until(
      () => cloud.calls.some((call) => call.method === 'CreateLoadBalancer'),
      'the create to be in flight',
    );
    c.controller.repairAll();
    cloud.sleep = async () => {};
    release();
    const [first, second] = await c.syncsAfter(0, 2);
    assert.equal(first!.operation, 'ensure');
    assert.equal(second!.operation, 'ensure', 'the repair asked the provider again');
  });
});
