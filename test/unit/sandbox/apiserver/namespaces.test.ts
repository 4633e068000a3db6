import assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../../../../sandbox/apiserver/index.js';

describe('namespace lifecycle', () => {
  let api: ApiServer;
  let core: CoreV1Api;
  beforeEach(async () => {
    api = await startApiServer();
    core = api.kubeConfig().makeApiClient(CoreV1Api);
  });
  afterEach(() => api.close());

  it('a deleted namespace turns Terminating, refuses new content, and goes once its content is gone', async () => {
    await core.createNamespace({ body: { metadata: { name: 'team' } } });
    await core.createNamespacedService({
      namespace: 'team',
      body: {
        metadata: { name: 'held', finalizers: ['example.com/x'] },
        spec: { ports: [{ port: 80 }] },
      },
    });
    const terminating = await core.deleteNamespace({ name: 'team' });
    assert.equal((terminating as { status?: { phase?: string } }).status?.phase, 'Terminating');
    await assert.rejects(
      core.createNamespacedService({
        namespace: 'team',
        body: { metadata: { name: 'late' }, spec: { ports: [{ port: 80 }] } },
      }),
      (e: { code: number }) => e.code === 403,
    );
    await new Promise((r) => setImmediate(r));
    const held = await core.readNamespacedService({ name: 'held', namespace: 'team' });
    assert.ok(held.metadata!.deletionTimestamp, 'content is being deleted');
    await core.replaceNamespacedService({
      name: 'held',
      namespace: 'team',
      body: { ...held, metadata: { ...held.metadata, finalizers: [] } },
    });
    await assert.rejects(
      core.readNamespace({ name: 'team' }),
      (e: { code: number }) => e.code === 404,
    );
  });

  it('refuses to delete default and kube-system', async () => {
    for (const name of ['default', 'kube-system']) {
      await assert.rejects(core.deleteNamespace({ name }), (e: { code: number }) => e.code === 403);
    }
  });
});
