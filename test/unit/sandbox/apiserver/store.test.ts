import assert from 'node:assert/strict';
import { CoreV1Api, makeInformer, type V1Service } from '@kubernetes/client-node';
import { startApiServer } from '../../../../sandbox/apiserver/index.js';
import { Store } from '../../../../sandbox/apiserver/store.js';

describe('storage and the watch window', () => {
  it('stamps every write, deletes included, with the next global version', () => {
    const store = new Store(10);
    const a = store.create('x', { metadata: { name: 'a' } });
    const b = store.create('y', { metadata: { name: 'b' } });
    const gone = store.delete('x', a);
    assert.deepEqual(
      [a, b, gone].map((o) => o.metadata.resourceVersion),
      ['1', '2', '3'],
    );
    assert.equal(store.get('x', undefined, 'a'), undefined);
  });

  it('keeps the last `watchWindow` events per resource; older versions are too old', () => {
    const store = new Store(2);
    for (const n of ['a', 'b', 'c']) store.create('x', { metadata: { name: n } });
    assert.equal(store.eventsSince('x', 0), undefined);
    assert.deepEqual(
      store.eventsSince('x', 1)!.map((e) => e.object.metadata.name),
      ['b', 'c'],
    );
  });

  it("sends client-node's informer a 410 ERROR past the window, and it relists", async () => {
    const api = await startApiServer({ watchWindow: 2 });
    const core = api.kubeConfig().makeApiClient(CoreV1Api);
    const body = (name: string): V1Service => ({
      metadata: { name },
      spec: { ports: [{ port: 80 }] },
    });
    const informer = makeInformer(api.kubeConfig(), '/api/v1/services', () =>
      core.listServiceForAllNamespaces(),
    );
    const seen = new Set<string>();
    const allSeen = new Promise<void>((resolve) =>
      informer.on('add', (o) => {
        seen.add(o.metadata!.name!);
        if (['a', 'b', 'c'].every((n) => seen.has(n))) resolve();
      }),
    );
    await informer.start();
    // The informer's next watch waits while three writes push its version out of the window.
    api.faults.delayNext({ verb: 'watch', resource: 'services' }, 100);
    api.faults.dropWatches();
    for (const n of ['a', 'b', 'c'])
      await core.createNamespacedService({ namespace: 'default', body: body(n) });
    await allSeen;
    assert.equal(api.audit.filter((r) => r.verb === 'list').length, 2, 'relisted after the 410');
    informer.on('error', () => {});
    await informer.stop();
    await api.close();
  });
});
