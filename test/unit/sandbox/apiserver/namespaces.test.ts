import assert from 'node:assert/strict';
import { CoreV1Api, Watch } from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../../../../sandbox/apiserver/index.js';

interface Seen {
  type: string;
  object: {
    metadata?: { name?: string; deletionTimestamp?: unknown };
    spec?: { finalizers?: string[] };
  };
}

describe('namespace lifecycle', () => {
  let api: ApiServer;
  let core: CoreV1Api;
  beforeEach(async () => {
    api = await startApiServer({ namespaceSyncDelayMs: 0 });
    core = api.kubeConfig().makeApiClient(CoreV1Api);
  });
  afterEach(() => api.close());

  /** Resolves with the events of a watch up to the first that `done` accepts. */
  async function watchUntil(path: string, done: (e: Seen) => boolean): Promise<Seen[]> {
    const seen: Seen[] = [];
    let abort: AbortController | undefined;
    const result = new Promise<Seen[]>((resolve, reject) => {
      void new Watch(api.kubeConfig())
        .watch(
          path,
          {},
          (type, object) => {
            seen.push({ type, object });
            if (done({ type, object })) resolve(seen);
          },
          (err) => (err ? reject(err) : undefined),
        )
        .then((c) => (abort = c), reject);
    });
    return result.finally(() => abort?.abort());
  }

  it('a deleted namespace turns Terminating, refuses new content, and goes once its content is gone', async () => {
    await core.createNamespace({ body: { metadata: { name: 'team' } } });
    await core.createNamespacedService({
      namespace: 'team',
      body: {
        metadata: { name: 'held', finalizers: ['example.com/x'] },
        spec: { ports: [{ port: 80 }] },
      },
    });
    const marked = watchUntil(
      '/api/v1/namespaces/team/services',
      (e) => e.type === 'MODIFIED' && !!e.object.metadata?.deletionTimestamp,
    );
    const terminating = await core.deleteNamespace({ name: 'team' });
    assert.equal((terminating as { status?: { phase?: string } }).status?.phase, 'Terminating');
    await assert.rejects(
      core.createNamespacedService({
        namespace: 'team',
        body: { metadata: { name: 'late' }, spec: { ports: [{ port: 80 }] } },
      }),
      (e: { code: number; body: string }) =>
        e.code === 403 && JSON.parse(e.body).details.causes[0].reason === 'NamespaceTerminating',
    );
    await marked;
    const held = await core.readNamespacedService({ name: 'held', namespace: 'team' });
    const gone = watchUntil('/api/v1/namespaces', (e) => e.type === 'DELETED');
    await core.replaceNamespacedService({
      name: 'held',
      namespace: 'team',
      body: { ...held, metadata: { ...held.metadata, finalizers: [] } },
    });
    const events = await gone;
    const team = events.filter((e) => e.object.metadata?.name === 'team').slice(-2);
    assert.deepEqual(
      team.map((e) => [e.type, e.object.spec?.finalizers]),
      [
        ['MODIFIED', []],
        ['DELETED', []],
      ],
      'the controller removes the kubernetes finalizer, then the namespace',
    );
    await assert.rejects(
      core.readNamespace({ name: 'team' }),
      (e: { code: number }) => e.code === 404,
    );
  });

  it('a deleted empty namespace stays Terminating until the controller runs', async () => {
    await api.close();
    api = await startApiServer({ namespaceSyncDelayMs: 60_000 });
    core = api.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'empty' } } });
    const reply = (await core.deleteNamespace({ name: 'empty' })) as {
      metadata?: Record<string, unknown>;
    };
    assert.equal(reply.metadata?.deletionGracePeriodSeconds, undefined);
    const ns = await core.readNamespace({ name: 'empty' });
    assert.equal(ns.status?.phase, 'Terminating');
  });

  it('refuses to delete default and kube-system', async () => {
    for (const name of ['default', 'kube-system']) {
      await assert.rejects(core.deleteNamespace({ name }), (e: { code: number }) => e.code === 403);
    }
  });
});
