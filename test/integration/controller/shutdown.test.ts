import assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import { findReadyCondition } from '../../../controllers/service/status.js';
import { createFakeCloud } from '../../../providers/fake/index.js';
import { newNode, newPostedService } from '../../fixtures/builders.js';
import { openTestApiServer, startTestCluster, type TestApiServer } from '../../support/cluster.js';

describe('stopping in the middle of a sync', () => {
  let server: TestApiServer;
  beforeEach(async () => {
    server = await openTestApiServer();
  });
  afterEach(() => server.close());

  it('reports no failure for a cloud call the shutdown aborted', async () => {
    let abortCall: ((err: Error) => void) | undefined;
    let callStarted!: () => void;
    const underWay = new Promise<void>((resolve) => (callStarted = resolve));
    // The first cloud call hangs until the test aborts it, as a provider honouring ctx.signal does.
    const cloud = createFakeCloud({
      latencyMs: 1,
      sleep: () =>
        new Promise<void>((_resolve, reject) => {
          abortCall = reject;
          callStarted();
        }),
    });
    const c = await startTestCluster({
      apiServer: server,
      cloud,
      nodes: [newNode('node-1')],
      services: [newPostedService('web')],
    });
    await underWay; // no API event follows it, so c.until would not look again

    const stopped = c.stop(); // aborts the controller's signal before it returns
    abortCall!(new DOMException('This operation was aborted', 'AbortError'));
    await stopped;

    const core = server.kubeConfig().makeApiClient(CoreV1Api);
    const events = await core.listNamespacedEvent({ namespace: 'default' });
    assert.deepEqual(
      events.items.filter((e) => e.involvedObject.name === 'web').map((e) => e.reason),
      ['EnsuringLoadBalancer'],
      'no SyncLoadBalancerFailed for our own shutdown',
    );
    const web = await core.readNamespacedService({ name: 'web', namespace: 'default' });
    assert.notEqual(findReadyCondition(web)?.reason, 'Failed');
  });
});
