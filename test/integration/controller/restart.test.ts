import assert from 'node:assert/strict';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { findReadyCondition } from '../../../controllers/service/status.js';
import {
  createFakeCloud,
  createFakeProvider,
  type FakeCloud,
} from '../../../providers/fake/index.js';
import type { LoadBalancerProvider, ProviderFactory } from '../../../providers/provider.js';
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
  const factory: ProviderFactory = async (options) => {
    const inner = await createFakeProvider(cloud)(options);
    return new Proxy(inner, {
      get(target, prop) {
        if (prop === 'ensureLoadBalancer') {
          return async (...args: Parameters<LoadBalancerProvider['ensureLoadBalancer']>) => {
            await target.ensureLoadBalancer(...args);
            const { signal } = args[0];
            parked();
            await new Promise((_, reject) =>
              signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
            );
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  };
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
