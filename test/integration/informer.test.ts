import assert from 'node:assert/strict';
import { CoreV1Api, type V1Service } from '@kubernetes/client-node';
import { Informer, stripManagedFields } from '../../runtime/informer.js';
import { startApiServer, type ApiServer } from '../../sandbox/apiserver/index.js';
import { FakeClock } from '../unit/runtime/fake-clock.js';
import { kubeApiFor } from '../../runtime/kube-api.js';
import { listInPages } from '../../runtime/paged-list.js';
import { until } from '../support/until.js';

/** Waits until the informer's cache satisfies `check`, re-checking on each of its events. */
function cacheUntil(
  informer: Informer<V1Service>,
  check: () => boolean,
  what: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 10_000);
    const attempt = () => {
      if (check()) {
        clearTimeout(timer);
        resolve();
      }
    };
    informer.addHandlers({ add: attempt, update: attempt, delete: attempt });
    attempt();
  });
}

const svc = (name: string): V1Service => ({
  metadata: { name },
  spec: { type: 'ClusterIP', ports: [{ port: 80, protocol: 'TCP' }] },
});

describe('Informer', () => {
  let api: ApiServer;
  let core: CoreV1Api;
  let informer: Informer<V1Service>;
  const updates: [string, string][] = [];

  beforeEach(async () => {
    api = await startApiServer();
    core = api.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespacedService({ namespace: 'default', body: svc('before') });
    informer = new Informer<V1Service>({
      watcher: kubeApiFor(api.kubeConfig()),
      name: 'services',
      path: '/api/v1/services',
      list: () => core.listServiceForAllNamespaces(),
      restartDelayMs: () => 10,
    });
    updates.length = 0;
    informer.addHandlers({
      update: (o, n) => updates.push([o.metadata!.resourceVersion!, n.metadata!.resourceVersion!]),
    });
  });
  afterEach(async () => {
    await informer.stop();
    await api.close();
  });

  it('resolves start() once the first list is in the cache', async () => {
    await informer.start();
    assert.equal(informer.synced, true);
    assert.ok(informer.get('default/before'));
  });

  it('hands update handlers the old and the new object', async () => {
    await informer.start();
    const old = informer.get('default/before')!;
    await core.patchNamespacedService({
      name: 'before',
      namespace: 'default',
      body: [{ op: 'add', path: '/metadata/labels', value: { a: 'b' } }],
    });
    await cacheUntil(informer, () => updates.length > 0, 'an update');
    assert.equal(updates[0]![0], old.metadata!.resourceVersion);
    assert.notEqual(updates[0]![1], old.metadata!.resourceVersion);
  });

  it('keeps watching after the server drops the watch', async () => {
    await informer.start();
    api.faults.dropWatches({ abrupt: true });
    await core.createNamespacedService({ namespace: 'default', body: svc('after-drop') });
    await cacheUntil(
      informer,
      () => informer.get('default/after-drop') !== undefined,
      'the new Service',
    );
  });

  it('caches listed and watched objects through its transform', async () => {
    const managedFields = [
      {
        manager: 'kubectl',
        operation: 'Update',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:spec': {} },
      },
    ];
    const listed = await core.readNamespacedService({ name: 'before', namespace: 'default' });
    await core.patchNamespacedService({
      name: 'before',
      namespace: 'default',
      body: [{ op: 'add', path: '/metadata/managedFields', value: managedFields }],
    });
    await informer.stop();
    informer = new Informer<V1Service>({
      watcher: kubeApiFor(api.kubeConfig()),
      name: 'services',
      path: '/api/v1/services',
      list: () => core.listServiceForAllNamespaces(),
      transform: stripManagedFields,
    });
    await informer.start();
    assert.notEqual(
      informer.get('default/before')!.metadata!.resourceVersion,
      listed.metadata!.resourceVersion,
    );
    assert.equal(informer.get('default/before')!.metadata!.managedFields, undefined, 'listed');
    await core.createNamespacedService({
      namespace: 'default',
      body: { ...svc('watched'), metadata: { name: 'watched', managedFields } },
    });
    await cacheUntil(
      informer,
      () => informer.get('default/watched') !== undefined,
      'the watched Service',
    );
    assert.equal(informer.get('default/watched')!.metadata!.managedFields, undefined, 'watched');
  });

  describe('a silent watch', () => {
    const clock = new FakeClock();
    const SILENCE_MS = 90_000;
    const silenceInformer = (server: ApiServer) =>
      new Informer<V1Service>({
        watcher: kubeApiFor(server.kubeConfig()),
        name: 'services',
        path: '/api/v1/services',
        list: () => server.kubeConfig().makeApiClient(CoreV1Api).listServiceForAllNamespaces(),
        silenceMs: SILENCE_MS,
        timers: clock.timers,
      });
    const servicesLists = (server: ApiServer) =>
      server.audit.filter((r) => r.verb === 'list' && r.resource === 'services').length;

    it('is watched again from its last version once it has shown nothing for the bound, and the Service created meanwhile is seen', async () => {
      await informer.stop();
      informer = silenceInformer(api);
      await informer.start();
      // The connection dies without a FIN: no event, no bookmark, no end.
      assert.equal(api.faults.stallWatches('services'), 1);
      await core.createNamespacedService({ namespace: 'default', body: svc('while-silent') });
      await clock.advance(SILENCE_MS - 1);
      assert.equal(informer.silentRestarts, 0);
      await clock.advance(1);
      assert.equal(informer.silentRestarts, 1);
      await cacheUntil(
        informer,
        () => informer.get('default/while-silent') !== undefined,
        'the Service created while the watch was silent',
      );
      assert.equal(servicesLists(api), 1, 'resumed from its version, without a relist');
    });

    it("relists when the version it stopped at has left the server's window", async () => {
      const small = await startApiServer({ watchWindow: 2 });
      const quiet = silenceInformer(small);
      try {
        const client = small.kubeConfig().makeApiClient(CoreV1Api);
        await quiet.start();
        small.faults.stallWatches('services');
        for (const name of ['one', 'two', 'three'])
          await client.createNamespacedService({ namespace: 'default', body: svc(name) });
        await clock.advance(SILENCE_MS);
        await cacheUntil(
          quiet,
          () => ['one', 'two', 'three'].every((n) => quiet.get(`default/${n}`)),
          'the relist',
        );
        assert.equal(servicesLists(small), 2);
      } finally {
        await quiet.stop();
        await small.close();
      }
    });

    it('asks for bookmarks: each moves the version on without a handler call, and keeps a quiet watch from counting as silent', async () => {
      const bookmarking = await startApiServer({ bookmarkIntervalMs: 20 });
      const quiet = silenceInformer(bookmarking);
      const client = bookmarking.kubeConfig().makeApiClient(CoreV1Api);
      // Another resource's write moves the server's version; the Services watch hears of it by bookmark only.
      const bookmarked = async (name: string) => {
        const ns = await client.createNamespace({ body: { metadata: { name } } });
        await until(
          () => quiet.resourceVersion === ns.metadata!.resourceVersion,
          `a bookmark at ${ns.metadata!.resourceVersion}`,
        );
      };
      let handled = 0;
      quiet.addHandlers({ add: () => handled++, update: () => handled++, delete: () => handled++ });
      try {
        await quiet.start();
        const afterList = handled;
        await bookmarked('first');
        await clock.advance(SILENCE_MS - 30_000);
        await bookmarked('second');
        await clock.advance(SILENCE_MS - 30_000);
        assert.equal(quiet.silentRestarts, 0);
        assert.equal(handled, afterList);
      } finally {
        await quiet.stop();
        await bookmarking.close();
      }
    });
  });

  it('relists after 410 Gone and sees what changed meanwhile', async () => {
    await informer.start();
    api.faults.expireNextWatch('services');
    api.faults.dropWatches();
    await core.createNamespacedService({ namespace: 'default', body: svc('after-gone') });
    await core.deleteNamespacedService({ name: 'before', namespace: 'default' });
    await cacheUntil(
      informer,
      () => informer.get('default/after-gone') !== undefined && !informer.get('default/before'),
      'the relist',
    );
  });

  it('relists after a 410 even when the server keeps the expired stream open (as 1.20 does)', async () => {
    await informer.start();
    api.faults.expireNextWatch('services', { keepOpen: true });
    api.faults.dropWatches();
    await core.createNamespacedService({ namespace: 'default', body: svc('after-kept-open') });
    await cacheUntil(
      informer,
      () => informer.get('default/after-kept-open') !== undefined,
      'the relist',
    );
  });

  it('restarts with backoff after the server refused connections (where ListWatch gives up)', async () => {
    await informer.start();
    const outage = api.faults.refuseConnections(300);
    api.faults.dropWatches({ abrupt: true });
    await outage;
    await core.createNamespacedService({ namespace: 'default', body: svc('after-outage') });
    await cacheUntil(
      informer,
      () => informer.get('default/after-outage') !== undefined,
      'the Service created after the outage',
    );
    assert.equal(informer.running, true);
  });

  it('backs off further on each consecutive failed restart, and starts over once a watch is established', async () => {
    const delays: number[] = [];
    const counting = new Informer<V1Service>({
      watcher: kubeApiFor(api.kubeConfig()),
      name: 'services',
      path: '/api/v1/services',
      list: () => core.listServiceForAllNamespaces(),
      restartDelayMs: (n) => (delays.push(n), 10),
    });
    try {
      await counting.start();
      api.faults.failNext({ verb: 'watch', resource: 'services' }, { code: 500 }, 3);
      api.faults.dropWatches({ abrupt: true });
      await core.createNamespacedService({ namespace: 'default', body: svc('after-failures') });
      await cacheUntil(
        counting,
        () => counting.get('default/after-failures') !== undefined,
        'the watch back',
      );
      // The dropped watch, then three refused restarts: each waits longer than the one before.
      assert.deepEqual(delays, [1, 2, 3, 4]);
      const before = delays.length;
      api.faults.failNext({ verb: 'watch', resource: 'services' }, { code: 500 }, 1);
      api.faults.dropWatches({ abrupt: true });
      await core.createNamespacedService({ namespace: 'default', body: svc('after-one-failure') });
      await cacheUntil(
        counting,
        () => counting.get('default/after-one-failure') !== undefined,
        'the watch back again',
      );
      assert.equal(delays[before], 1, `a fresh episode starts from the first delay: ${delays}`);
    } finally {
      await counting.stop();
    }
  });

  it('retries the first list until the server answers', async () => {
    api.faults.failNext({ verb: 'list', resource: 'services' }, { code: 500 }, 2);
    await informer.start();
    assert.ok(informer.get('default/before'));
  });

  it('lists every page through the run path’s client, not just the first', async () => {
    for (const name of ['a', 'b', 'c', 'd', 'e', 'f']) {
      await core.createNamespacedService({ namespace: 'default', body: svc(name) });
    }
    const kube = kubeApiFor(api.kubeConfig());
    try {
      const pages: number[] = [];
      const list = await listInPages(
        async (page) => {
          const answer = await kube.listServiceForAllNamespaces(page ?? {});
          pages.push(answer.items.length);
          return answer;
        },
        (s) => s,
        3,
      );
      // Seven made here and `kubernetes` in `default`, as a real server has: pages of 3, 3 and 2.
      assert.deepEqual(pages, [3, 3, 2]);
      const names = list.items.map((s: V1Service) => s.metadata!.name);
      for (const name of ['a', 'b', 'before', 'c', 'd', 'e', 'f'])
        assert.ok(names.includes(name), name);
      assert.equal(new Set(names).size, 8);
    } finally {
      kube.close();
    }
  });
});
