import assert from 'node:assert/strict';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { findReadyCondition } from '../../../controllers/service/status.js';
import {
  createFakeCloud,
  createFakeProvider,
  type FakeCloud,
} from '../../../providers/fake/index.js';
import type { LoadBalancerProvider, ProviderFactory } from '../../../contract/provider.js';
import {
  openTestApiServer,
  startTestCluster,
  type TestApiServer,
  type TestCluster,
} from '../../support/cluster.js';
import { newNode, newPostedService } from '../../fixtures/builders.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

const isReady = (c: TestCluster, name: string) =>
  findReadyCondition(c.cached('default', name) ?? {})?.reason === 'Ready';

type Ensure = LoadBalancerProvider['ensureLoadBalancer'];

/** The fake provider over `cloud`, with ensureLoadBalancer replaced by `wrap(original)`. */
function withEnsure(cloud: FakeCloud, wrap: (original: Ensure) => Ensure): ProviderFactory {
  return async (options) => {
    const inner = await createFakeProvider(cloud)(options);
    const ensure = wrap(inner.ensureLoadBalancer.bind(inner));
    return new Proxy(inner, {
      get(target, prop) {
        if (prop === 'ensureLoadBalancer') return ensure;
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  };
}

/**
 * The fake provider, except that ensureLoadBalancer, once the cloud has made the load balancer,
 * parks until the controller stops: a crash between the cloud call and the status write.
 * `made` resolves when it has parked.
 */
function crashesAfterCloudCall(cloud: FakeCloud): {
  factory: ProviderFactory;
  made: Promise<void>;
} {
  let parked!: () => void;
  const made = new Promise<void>((resolve) => (parked = resolve));
  const factory = withEnsure(cloud, (ensure) => async (...args) => {
    await ensure(...args);
    const { signal } = args[0];
    parked();
    return new Promise((_, reject) =>
      signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
    );
  });
  return { factory, made };
}

describe('restarts and leaks', () => {
  // One server for both lives of kube-lbc in a test: the second start is the restart.
  let api: TestApiServer;
  let c: TestCluster | undefined;
  beforeEach(async () => {
    api = await openTestApiServer();
  });
  afterEach(async () => {
    await c?.stop();
    c = undefined;
    await api.close();
  });

  it('makes no cloud write after a restart when the cloud already matches', async () => {
    const cloud = createFakeCloud();
    c = await startTestCluster({ apiServer: api, cloud, nodes: [newNode('node-1')] });
    for (const n of ['a', 'b'])
      await c.core.createNamespacedService({ namespace: 'default', body: newPostedService(n) });
    await c.until(() => isReady(c!, 'a') && isReady(c!, 'b'), 'ready');
    await c.stop();
    cloud.clearCalls();
    c = await startTestCluster({ apiServer: api, cloud });
    await c.syncsAfter(0, 2);
    assert.deepEqual(cloud.writes(), []);
    assert.equal(cloud.loadBalancers().length, 2);
  });

  it('finishes a create whose status writes kept failing until a restart, without a duplicate', async function () {
    const faults = api.emulator?.faults;
    if (!faults) this.skip(); // fault injection needs the emulator; the next test crashes by stopping
    const cloud = createFakeCloud();
    c = await startTestCluster({ apiServer: api, cloud, nodes: [newNode('node-1')] });
    // The "crash": the load balancer is made, but the status write never happens.
    faults.failNext(
      { verb: 'patch', resource: 'services', subresource: 'status' },
      { code: 500 },
      100,
    );
    await c.core.createNamespacedService({ namespace: 'default', body: newPostedService('web') });
    await c.until(
      () => cloud.loadBalancers().length === 1 && c!.syncs.some((s) => s.result === 'error'),
      'made, unpublished',
    );
    await c.stop();
    faults.clear();
    c = await startTestCluster({ apiServer: api, cloud });
    await c.until(() => isReady(c!, 'web'), 'ready after restart');
    assert.equal(cloud.loadBalancers().length, 1);
  });

  it('finishes a create cut off between the cloud call and the status write, without a duplicate', async () => {
    const cloud = createFakeCloud();
    const crashing = crashesAfterCloudCall(cloud);
    c = await startTestCluster({
      apiServer: api,
      cloud,
      provider: crashing.factory,
      nodes: [newNode('node-1')],
    });
    await c.core.createNamespacedService({ namespace: 'default', body: newPostedService('web') });
    await crashing.made;
    await c.stop();
    const unpublished = await c.core.readNamespacedService({ name: 'web', namespace: 'default' });
    assert.equal(
      unpublished.status?.loadBalancer?.ingress,
      undefined,
      'the address was never written',
    );
    assert.equal(cloud.loadBalancers().length, 1);
    c = await startTestCluster({ apiServer: api, cloud });
    await c.until(() => isReady(c!, 'web'), 'ready after restart');
    assert.equal(cloud.loadBalancers().length, 1);
  });

  it('cleans up a Service deleted while kube-lbc was down, even with its finalizer stripped', async () => {
    const cloud = createFakeCloud();
    c = await startTestCluster({ apiServer: api, cloud, nodes: [newNode('node-1')] });
    await c.core.createNamespacedService({ namespace: 'default', body: newPostedService('gone') });
    await c.core.createNamespacedService({ namespace: 'default', body: newPostedService('kept') });
    await c.until(() => isReady(c!, 'gone') && isReady(c!, 'kept'), 'ready');
    await c.stop();
    const core = c.core;
    await core.patchNamespacedService(
      { name: 'gone', namespace: 'default', body: { metadata: { finalizers: null } } },
      mergePatch,
    );
    await core.deleteNamespacedService({ name: 'gone', namespace: 'default' });
    c = await startTestCluster({ apiServer: api, cloud, config: { gcPeriodMs: 0 } });
    assert.equal(await c.controller.collectGarbage(), 1);
    assert.deepEqual(
      cloud.loadBalancers().map((lb) => lb.tags.serviceName),
      ['kept'],
    );
  });

  /** While kube-lbc is down: `web` becomes a ClusterIP Service, replaced whole without our finalizer. */
  async function toClusterIPWithoutFinalizer(core: TestCluster['core'], name: string) {
    const cur = await core.readNamespacedService({ name, namespace: 'default' });
    await core.replaceNamespacedService({
      name,
      namespace: 'default',
      body: {
        metadata: { name, namespace: 'default', resourceVersion: cur.metadata!.resourceVersion },
        spec: {
          ...cur.spec,
          type: 'ClusterIP',
          externalTrafficPolicy: undefined,
          ports: cur.spec!.ports!.map(({ nodePort: _, ...p }) => p),
        },
      },
    });
  }

  it('cleans up a Service turned into a ClusterIP with its finalizer stripped while kube-lbc was down', async () => {
    const cloud = createFakeCloud();
    c = await startTestCluster({ apiServer: api, cloud, nodes: [newNode('node-1')] });
    await c.core.createNamespacedService({ namespace: 'default', body: newPostedService('web') });
    await c.core.createNamespacedService({ namespace: 'default', body: newPostedService('kept') });
    await c.until(() => isReady(c!, 'web') && isReady(c!, 'kept'), 'ready');
    await c.stop();
    await toClusterIPWithoutFinalizer(c.core, 'web');
    c = await startTestCluster({ apiServer: api, cloud, config: { gcPeriodMs: 0 } });
    await c.idle();
    // The Service is still there, so nothing deletes it directly: the sync for the key does.
    assert.equal(await c.controller.collectGarbage(), 0);
    await c.idle();
    assert.deepEqual(
      cloud.loadBalancers().map((lb) => lb.tags.serviceName),
      ['kept'],
    );
    await c.until(
      () => !c!.cached('default', 'web')?.status?.loadBalancer?.ingress?.length,
      'the old address to go from the status',
    );
  });

  for (const deleted of [false, true]) {
    it(`cleans up a Service of our class whose type changed while kube-lbc was down, finalizer kept${deleted ? ', then deleted' : ''}`, async function () {
      const cloud = createFakeCloud();
      const config = {
        gcPeriodMs: 0,
        classes: { loadBalancerClasses: ['example.com/lb'], handleUnclassed: false },
      };
      c = await startTestCluster({ apiServer: api, cloud, config, nodes: [newNode('node-1')] });
      if (c.serverMinor < 22) this.skip(); // the server would drop the class
      const web = newPostedService('web');
      web.spec!.loadBalancerClass = 'example.com/lb';
      await c.core.createNamespacedService({ namespace: 'default', body: web });
      await c.until(() => isReady(c!, 'web'), 'ready');
      await c.stop();
      // The class must go with the type: the Service no longer says it was ours.
      await c.core.patchNamespacedService(
        {
          name: 'web',
          namespace: 'default',
          body: { spec: { type: 'ClusterIP', loadBalancerClass: null } },
        },
        mergePatch,
      );
      // Deleted, it would hang in Terminating on our finalizer.
      if (deleted) await c.core.deleteNamespacedService({ name: 'web', namespace: 'default' });
      c = await startTestCluster({ apiServer: api, cloud, config });
      await c.idle();
      assert.equal(await c.controller.collectGarbage(), 0);
      await c.until(
        () =>
          cloud.loadBalancers().length === 0 &&
          (deleted
            ? c!.cached('default', 'web') === undefined
            : !c!.cached('default', 'web')?.metadata?.finalizers?.length),
        'the load balancer and our finalizer to go',
      );
    });
  }

  it('leaves the load balancer of a Service that turned back into a LoadBalancer before its cleanup ran', async () => {
    const cloud = createFakeCloud();
    c = await startTestCluster({ apiServer: api, cloud, nodes: [newNode('node-1')] });
    await c.core.createNamespacedService({ namespace: 'default', body: newPostedService('web') });
    await c.until(() => isReady(c!, 'web'), 'ready');
    await c.stop();
    await toClusterIPWithoutFinalizer(c.core, 'web');
    const before = cloud.loadBalancers().map((lb) => lb.name);

    // One worker, held by another Service's ensure: the key the collector hands over waits.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let parked!: () => void;
    const busy = new Promise<void>((resolve) => (parked = resolve));
    const factory = withEnsure(cloud, (ensure) => async (...args) => {
      if (args[2].metadata?.name === 'slow') {
        parked();
        await held;
      }
      return ensure(...args);
    });
    c = await startTestCluster({
      apiServer: api,
      cloud,
      provider: factory,
      config: { gcPeriodMs: 0, concurrentServiceSyncs: 1 },
    });
    await c.core.createNamespacedService({ namespace: 'default', body: newPostedService('slow') });
    await busy;
    cloud.clearCalls();
    assert.equal(await c.controller.collectGarbage(), 0);
    // The collector saw a ClusterIP; the user turns it back into a LoadBalancer before the sync.
    await c.core.patchNamespacedService(
      { name: 'web', namespace: 'default', body: { spec: { type: 'LoadBalancer' } } },
      mergePatch,
    );
    await c.until(
      () => c!.cached('default', 'web')?.spec?.type === 'LoadBalancer',
      'the type back',
    );
    release();
    await c.until(() => isReady(c!, 'web') && isReady(c!, 'slow'), 'both ready');
    await c.idle();
    assert.deepEqual(
      cloud.writes().filter((w) => w.method === 'DeleteLoadBalancer'),
      [],
    );
    const web = cloud.loadBalancers().filter((lb) => lb.tags.serviceName === 'web');
    assert.deepEqual(
      web.map((lb) => lb.name),
      before,
      'the same load balancer, kept',
    );
  });

  it('cleans up when the finalizer is stripped by hand while it runs', async () => {
    c = await startTestCluster({ apiServer: api, nodes: [newNode('node-1')] });
    await c.core.createNamespacedService({ namespace: 'default', body: newPostedService('web') });
    await c.until(() => isReady(c!, 'web'), 'ready');
    await c.core.patchNamespacedService(
      { name: 'web', namespace: 'default', body: { metadata: { finalizers: null } } },
      mergePatch,
    );
    await c.core.deleteNamespacedService({ name: 'web', namespace: 'default' });
    await c.until(() => c!.cloud.loadBalancers().length === 0, 'the orphan to go');
  });
});
