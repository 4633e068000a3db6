import assert from 'node:assert/strict';
import { CoreV1Api, makeInformer, type V1Service } from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../../../../sandbox/apiserver/index.js';

const svc = (name: string): V1Service => ({ metadata: { name }, spec: { ports: [{ port: 80 }] } });

async function failureOf(
  call: Promise<unknown>,
): Promise<{ code: number; body: Record<string, unknown>; headers: Record<string, string> }> {
  try {
    await call;
  } catch (err) {
    const e = err as { code: number; body: string; headers: Record<string, string> };
    return { code: e.code, body: JSON.parse(e.body), headers: e.headers };
  }
  assert.fail('expected a failure');
}

/** Resolves on the informer's next event of `verb` (an error, a connect, an add). */
const next = (
  informer: ReturnType<typeof makeInformer<V1Service>>,
  verb: 'error' | 'connect' | 'add',
  match = (_o: unknown) => true,
) => new Promise<unknown>((resolve) => informer.on(verb as 'add', (o) => match(o) && resolve(o)));

describe('emulator fault injection', () => {
  let api: ApiServer;
  let core: CoreV1Api;
  beforeEach(async () => {
    api = await startApiServer();
    core = api.kubeConfig().makeApiClient(CoreV1Api);
  });
  afterEach(async () => {
    await api.close();
  });

  it('answers the next matching requests with the status asked for, then serves normally', async () => {
    api.faults.failNext({ verb: 'create', resource: 'services' }, { code: 409 }, 2);
    for (let i = 0; i < 2; i++) {
      const f = await failureOf(
        core.createNamespacedService({ namespace: 'default', body: svc('a') }),
      );
      assert.equal(f.code, 409);
      assert.equal(f.body.reason, 'Conflict');
    }
    await core.createNamespacedService({ namespace: 'default', body: svc('a') });
    assert.equal(api.faults.pending, 0);
  });

  it('answers 429 with Retry-After and 500 as InternalError', async () => {
    api.faults.failNext(
      { verb: 'list', resource: 'services' },
      { code: 429, retryAfterSeconds: 3 },
    );
    const throttled = await failureOf(core.listNamespacedService({ namespace: 'default' }));
    assert.equal(throttled.code, 429);
    assert.equal(throttled.headers['retry-after'], '3');
    assert.deepEqual(throttled.body.details, { retryAfterSeconds: 3 });
    api.faults.failNext(
      { resource: 'services', subresource: 'status' },
      { code: 500, message: 'etcd went away' },
    );
    await core.createNamespacedService({ namespace: 'default', body: svc('b') });
    const broken = await failureOf(
      core.replaceNamespacedServiceStatus({ name: 'b', namespace: 'default', body: svc('b') }),
    );
    assert.equal(broken.code, 500);
    assert.equal(broken.body.reason, 'InternalError');
    assert.match(String(broken.body.message), /etcd went away/);
  });

  it('leaves requests that do not match alone', async () => {
    api.faults.failNext({ verb: 'delete', resource: 'services', name: 'other' }, { code: 500 });
    await core.createNamespacedService({ namespace: 'default', body: svc('c') });
    await core.deleteNamespacedService({ name: 'c', namespace: 'default' });
    assert.equal(api.faults.pending, 1);
  });

  it('holds matching requests for the delay asked for', async () => {
    api.faults.delayNext({ verb: 'get', resource: 'namespaces' }, 150);
    const started = Date.now();
    await core.readNamespace({ name: 'default' });
    assert.ok(Date.now() - started >= 140);
  });

  it("expires the next watch, and client-node's informer relists", async () => {
    const informer = makeInformer(api.kubeConfig(), '/api/v1/services', () =>
      core.listServiceForAllNamespaces(),
    );
    api.faults.expireNextWatch('services');
    let lists = 0;
    informer.on('connect', () => lists++);
    await informer.start();
    await core.createNamespacedService({ namespace: 'default', body: svc('after-expiry') });
    await next(informer, 'add', (o) => (o as V1Service).metadata?.name === 'after-expiry');
    assert.ok(lists >= 2, `connects: ${lists}`);
    informer.on('error', () => {});
    await informer.stop();
  });

  it('can keep an expired watch open, where client-node waits until the stream ends', async () => {
    const informer = makeInformer(api.kubeConfig(), '/api/v1/services', () =>
      core.listServiceForAllNamespaces(),
    );
    const names: string[] = [];
    informer.on('add', (o) => names.push(o.metadata!.name!));
    api.faults.expireNextWatch('services', { keepOpen: true });
    await informer.start();
    await core.createNamespacedService({ namespace: 'default', body: svc('unseen') });
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(!names.includes('unseen'), 'the informer is stalled');
    const seen = next(informer, 'add', (o) => (o as V1Service).metadata?.name === 'unseen');
    api.faults.dropWatches();
    await seen;
    assert.equal(api.audit.filter((r) => r.verb === 'list').length, 2);
    informer.on('error', () => {});
    await informer.stop();
  });

  it('drops watches cleanly (the informer re-watches) or abruptly (the informer reports an error)', async () => {
    const informer = makeInformer(api.kubeConfig(), '/api/v1/services', () =>
      core.listServiceForAllNamespaces(),
    );
    await informer.start();
    await new Promise((r) => setImmediate(r));
    assert.equal(api.faults.dropWatches(), 1);
    await core.createNamespacedService({ namespace: 'default', body: svc('after-drop') });
    await next(informer, 'add', (o) => (o as V1Service).metadata?.name === 'after-drop');
    await new Promise((r) => setTimeout(r, 20));
    const errored = next(informer, 'error');
    assert.equal(api.faults.dropWatches({ abrupt: true }), 1);
    await errored;
    await informer.stop();
  });

  it('refuses connections for a while and listens again on the same port', async () => {
    const refusing = api.faults.refuseConnections(200);
    await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(core.readNamespace({ name: 'default' }), /ECONNREFUSED/);
    await refusing;
    assert.equal((await core.readNamespace({ name: 'default' })).metadata!.name, 'default');
  });

  it('records every resource request for the RBAC rules a client needs', async () => {
    const before = api.audit.length;
    await core.createNamespacedService({ namespace: 'default', body: svc('d') });
    await core.patchNamespacedServiceStatus({
      name: 'd',
      namespace: 'default',
      body: [{ op: 'add', path: '/metadata/labels', value: { a: 'b' } }],
    });
    await core.listNode();
    assert.deepEqual(api.audit.slice(before), [
      { verb: 'create', group: '', resource: 'services', namespace: 'default' },
      {
        verb: 'patch',
        group: '',
        resource: 'services',
        subresource: 'status',
        namespace: 'default',
        name: 'd',
      },
      { verb: 'list', group: '', resource: 'nodes' },
    ]);
  });
});
