import assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../../sandbox/apiserver/index.js';
import { newNode, newPostedService } from '../fixtures/builders.js';
import { startTestCluster, type TestCluster } from '../support/cluster.js';

describe('a Service already being deleted', () => {
  let api: ApiServer;
  let c: TestCluster | undefined;
  beforeEach(async () => {
    api = await startApiServer();
  });
  afterEach(async () => {
    await c?.stop();
    await api.close();
  });

  it('is left alone when kube-lbc never handled it (no finalizer may be added now)', async () => {
    const core = api.kubeConfig().makeApiClient(CoreV1Api);
    const held = newPostedService('held');
    held.metadata!.finalizers = ['example.com/hold'];
    await core.createNamespacedService({ namespace: 'default', body: held });
    await core.deleteNamespacedService({ name: 'held', namespace: 'default' });
    c = await startTestCluster({ apiServer: api, nodes: [newNode('node-1')] });
    const [sync] = await c.syncsAfter(0, 1);
    assert.deepEqual(sync, { operation: 'noop', result: 'success' });
    assert.deepEqual(c.cloud.calls, []);
    assert.deepEqual(c.cached('default', 'held')?.metadata?.finalizers, ['example.com/hold']);
  });
});
