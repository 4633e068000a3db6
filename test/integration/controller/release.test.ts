/**
 * The hand-back (`kube-lbc.io/release`) end to end: the real controller over the API emulator,
 * with the fake provider and with the local one serving real sockets. What is asserted is what a
 * user would see: the Service's finalizer, status and Events, the load balancers in the cloud (or
 * who answers at the address), and every provider method the core called.
 */
import assert from 'node:assert/strict';
import {
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Event,
  type V1Service,
} from '@kubernetes/client-node';
import type { LoadBalancerProvider } from '../../../contract/provider.js';
import { findReadyCondition } from '../../../controllers/service/status.js';
import {
  createFakeCloud,
  createFakeProvider,
  optionAnnotation,
  type FakeCloud,
} from '../../../providers/fake/index.js';
import { startTestCluster, type TestCluster } from '../../support/cluster.js';
import { newNode, newPostedService, tweakNodeAddress } from '../../fixtures/builders.js';
import { createLocalProvider } from '../../../providers/local/index.js';
import { startBackends, whoAnswers, type NamedBackend } from '../local/helpers.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const FINALIZER = 'service.kubernetes.io/load-balancer-cleanup';
const RELEASE = 'kube-lbc.io/release';

/** A provider method the core called, and for which Service (`namespace/name`). */
interface ProviderCall {
  readonly method: string;
  readonly service: string;
}

const recorded = [
  'getLoadBalancer',
  'ensureLoadBalancer',
  'updateLoadBalancerHosts',
  'ensureLoadBalancerDeleted',
  'releaseLoadBalancer',
  'planLoadBalancer',
] as const;

/**
 * The fake provider, recording each call of a method that takes a Service: the cloud's own call
 * log misses a provider method that answers without asking the cloud.
 */
function recordingProvider(cloud: FakeCloud, calls: ProviderCall[]) {
  const inner = createFakeProvider(cloud);
  return async (...args: Parameters<typeof inner>): Promise<LoadBalancerProvider> => {
    const p = await inner(...args);
    const record = p as unknown as Record<string, unknown>;
    for (const method of recorded) {
      const fn = record[method];
      if (typeof fn !== 'function') continue;
      record[method] = (...a: unknown[]) => {
        const svc = a[2] as V1Service;
        calls.push({ method, service: `${svc.metadata?.namespace}/${svc.metadata?.name}` });
        return (fn as (...x: unknown[]) => unknown).apply(p, a);
      };
    }
    return p;
  };
}

describe('releasing a load balancer (kube-lbc.io/release)', function () {
  let c: TestCluster;
  let calls: ProviderCall[];
  afterEach(async () => c?.stop());

  const callsFor = (name: string) => calls.filter((call) => call.service === `default/${name}`);
  /** The load balancer tagged with `name`; a released one is tagged with nobody (''). */
  const lbOf = (name: string) => c.cloud.loadBalancers().find((lb) => lb.tags.serviceName === name);

  async function start(): Promise<void> {
    const cloud = createFakeCloud();
    calls = [];
    c = await startTestCluster({
      nodes: [newNode('node-1'), newNode('node-2')],
      cloud,
      provider: recordingProvider(cloud, calls),
    });
  }

  async function create(name: string, body = newPostedService(name)): Promise<V1Service> {
    await c.core.createNamespacedService({ namespace: 'default', body });
    const svc = await c.until(() => {
      const s = c.cached('default', name);
      return (
        s &&
        findReadyCondition(s)?.reason === 'Ready' &&
        (s.status?.loadBalancer?.ingress?.length ?? 0) > 0 &&
        s
      );
    }, `${name} to be ready`);
    // The sync its finalizer write queued has run too.
    await c.idle();
    return svc;
  }

  async function annotate(name: string, value: string | null): Promise<void> {
    await c.core.patchNamespacedService(
      { name, namespace: 'default', body: { metadata: { annotations: { [RELEASE]: value } } } },
      mergePatch,
    );
  }

  /** Asks for the release and waits until the finalizer is gone and every sync it queued ran. */
  async function release(name: string): Promise<V1Service> {
    await annotate(name, 'true');
    const svc = await c.until(() => {
      const s = c.cached('default', name);
      return s && !s.metadata?.finalizers?.includes(FINALIZER) && s;
    }, `${name} to lose its finalizer`);
    await c.idle();
    return svc;
  }

  async function events(name: string): Promise<CoreV1Event[]> {
    await c.idle();
    await c.recorder.flush();
    const list = await c.core.listNamespacedEvent({ namespace: 'default' });
    return list.items.filter((e) => e.involvedObject.name === name);
  }

  describe('with the fake provider', () => {
    beforeEach(start);

    it('removes the finalizer, records Released, keeps the ingress and the load balancer', async () => {
      const before = await create('web');
      const lbBefore = lbOf('web')!;
      calls.length = 0;
      c.cloud.clearCalls();

      const after = await release('web');
      assert.deepEqual(after.metadata?.finalizers ?? [], []);
      assert.deepEqual(after.status?.loadBalancer?.ingress, before.status?.loadBalancer?.ingress);
      assert.deepEqual(
        callsFor('web').map((call) => call.method),
        ['releaseLoadBalancer'],
      );
      assert.deepEqual(
        c.cloud.writes().map((w) => w.method),
        ['SetTags'],
        'the only write removes the ownership marks',
      );
      const lb = lbOf('')!;
      assert.equal(c.cloud.loadBalancers().length, 1);
      assert.equal(lb.name, lbBefore.name);
      assert.deepEqual(lb.ingress, lbBefore.ingress);
      assert.deepEqual(lb.nodes, lbBefore.nodes);
      assert.deepEqual(lb.ports, lbBefore.ports);
      assert.equal(lb.tags.cluster, '', 'no longer marked as this cluster’s');

      const released = (await events('web')).filter((e) => e.reason === 'Released');
      assert.equal(released.length, 1);
      assert.equal(released[0]!.type, 'Normal');
      assert.equal(released[0]!.involvedObject.uid, before.metadata?.uid);

      // The finalizer removal was synced too (idle above): it called nothing.
      assert.deepEqual(
        callsFor('web').map((call) => call.method),
        ['releaseLoadBalancer'],
      );
    });

    it('calls the provider for nothing while released: spec changes, resyncs, repairs and node changes', async () => {
      await create('web');
      await create('witness');
      await release('web');
      const lbReleased = structuredClone(lbOf('')!);
      calls.length = 0;
      c.cloud.clearCalls();

      await c.core.patchNamespacedService(
        {
          name: 'web',
          namespace: 'default',
          body: {
            metadata: { annotations: { [optionAnnotation]: 'enabled' } },
            spec: { ports: [{ name: 'http', port: 81, targetPort: 8080, protocol: 'TCP' }] },
          },
        },
        mergePatch,
      );
      await c.until(
        () => c.cached('default', 'web')?.spec?.ports?.[0]?.port === 81,
        'the port change in the cache',
      );
      await c.idle();

      let syncs = c.syncs.length;
      c.controller.resyncAll();
      await c.syncsAfter(syncs, 2);
      syncs = c.syncs.length;
      c.controller.repairAll();
      await c.syncsAfter(syncs, 2);
      await c.idle();

      // A node joins: the witness's load balancer gets it, in the same pass the released one is synced.
      await c.core.createNode({ body: newPostedNode('node-3') });
      await c.until(() => lbOf('witness')?.nodes.length === 3, 'node-3 on the witness');
      await c.idle();

      assert.deepEqual(callsFor('web'), []);
      assert.ok(
        c.cloud.calls.every((call) => call.service !== 'default/web'),
        'no cloud call for the released Service',
      );
      assert.deepEqual(lbOf(''), lbReleased, 'the released load balancer is as it was left');
      assert.deepEqual(c.cached('default', 'web')?.metadata?.finalizers ?? [], []);
    });

    it('deletes nothing in the cloud when a released Service is deleted, nor does the garbage collector', async () => {
      await create('web');
      await release('web');
      const lbReleased = structuredClone(lbOf('')!);
      calls.length = 0;
      c.cloud.clearCalls();

      await c.core.deleteNamespacedService({ name: 'web', namespace: 'default' });
      await c.until(() => c.cached('default', 'web') === undefined, 'the Service to go');
      await c.idle();
      assert.equal(await c.controller.collectGarbage(), 0);

      assert.deepEqual(calls, []);
      assert.deepEqual(c.cloud.writes(), []);
      assert.deepEqual(c.cloud.loadBalancers(), [lbReleased]);
      const reasons = (await events('web')).map((e) => e.reason);
      assert.ok(!reasons.includes('DeletingLoadBalancer'), reasons.join());
    });

    it('takes the same load balancer back in place when the annotation is removed', async () => {
      const before = await create('web');
      const lbBefore = structuredClone(lbOf('web')!);
      await release('web');
      calls.length = 0;
      c.cloud.clearCalls();

      await annotate('web', null);
      const back = await c.until(() => {
        const s = c.cached('default', 'web');
        return (
          s &&
          s.metadata?.finalizers?.includes(FINALIZER) &&
          !s.metadata.annotations?.[RELEASE] &&
          s
        );
      }, 'the finalizer back');
      await c.until(() => lbOf('web'), 'the ownership tags back');
      await c.idle();

      assert.deepEqual(back.metadata?.finalizers, [FINALIZER]);
      assert.deepEqual(c.cloud.loadBalancers(), [lbBefore], 'the same load balancer, tags and all');
      assert.deepEqual(
        c.cloud.writes().map((w) => w.method),
        ['SetTags'],
        'no create: only the ownership marks are written back',
      );
      const now = c.cached('default', 'web')!;
      assert.deepEqual(now.status?.loadBalancer?.ingress, before.status?.loadBalancer?.ingress);
      assert.equal(findReadyCondition(now)?.reason, 'Ready');

      // Managed again: a delete now deletes it.
      await c.core.deleteNamespacedService({ name: 'web', namespace: 'default' });
      await c.until(() => c.cached('default', 'web') === undefined, 'the Service to go');
      assert.deepEqual(c.cloud.loadBalancers(), []);
    });

    it('warns naming the annotation on a value other than "true" or "false", and leaves the cloud alone', async () => {
      const before = await create('web');
      const lbBefore = structuredClone(lbOf('web')!);
      calls.length = 0;
      c.cloud.clearCalls();

      await annotate('web', 'yes');
      await c.until(
        () => c.cached('default', 'web')?.metadata?.annotations?.[RELEASE] === 'yes',
        'the annotation in the cache',
      );
      const warnings = (await events('web')).filter((e) => e.type === 'Warning');
      assert.equal(warnings.length, 1, JSON.stringify(warnings.map((e) => e.message)));
      assert.match(warnings[0]!.message!, /kube-lbc\.io\/release: "yes"/);

      assert.deepEqual(calls, []);
      assert.deepEqual(c.cloud.calls, []);
      assert.deepEqual(c.cloud.loadBalancers(), [lbBefore]);
      const svc = c.cached('default', 'web')!;
      assert.deepEqual(svc.metadata?.finalizers, [FINALIZER], 'still managed');
      assert.deepEqual(svc.status?.loadBalancer?.ingress, before.status?.loadBalancer?.ingress);
    });
  });

  describe('with the local provider, in-process', () => {
    const port = 18090;
    let backends: NamedBackend[] = [];
    afterEach(async () => {
      await Promise.all(backends.map((b) => b.stop()));
      backends = [];
    });

    const localService = (name: string) =>
      newPostedService(name, (s) => (s.spec!.ports = [{ name: 'http', port, protocol: 'TCP' }]));

    /** `name`, ready, with a backend answering on its NodePort through the listener. */
    async function serving(name: string): Promise<{ ip: string; svc: V1Service }> {
      const svc = await create(name, localService(name));
      const ip = svc.status!.loadBalancer!.ingress![0]!.ip!;
      const nodePort = svc.spec!.ports![0]!.nodePort!;
      backends.push(...(await startBackends('127.243.91', ['node-1'], nodePort)));
      assert.equal(await whoAnswers(ip, port), 'node-1');
      return { ip, svc };
    }

    beforeEach(async () => {
      c = await startTestCluster({
        provider: createLocalProvider,
        cloudConfig: { addresses: ['127.243.90.1-127.243.90.2'] },
        nodes: [newNode('node-1', tweakNodeAddress('127.243.91.1'))],
      });
    });

    it('keeps serving at the same address, still claimed, and takes it back in place', async () => {
      const { ip } = await serving('web');
      const released = await release('web');
      assert.equal(released.status?.loadBalancer?.ingress?.[0]?.ip, ip);
      assert.equal(await whoAnswers(ip, port), 'node-1', 'the listener keeps serving');

      const other = await create('other', localService('other'));
      assert.notEqual(
        other.status?.loadBalancer?.ingress?.[0]?.ip,
        ip,
        'the released address is not given to another Service',
      );

      await annotate('web', null);
      const back = await c.until(() => {
        const s = c.cached('default', 'web');
        return s?.metadata?.finalizers?.includes(FINALIZER) && s;
      }, 'the finalizer back');
      await c.idle();
      assert.equal(back.status?.loadBalancer?.ingress?.[0]?.ip, ip);
      assert.equal(await whoAnswers(ip, port), 'node-1');
    });

    it('keeps serving a released Service after it is deleted (until kube-lbc stops)', async () => {
      const { ip } = await serving('web');
      await release('web');
      await c.core.deleteNamespacedService({ name: 'web', namespace: 'default' });
      await c.until(() => c.cached('default', 'web') === undefined, 'the Service to go');
      await c.idle();
      assert.equal(await whoAnswers(ip, port), 'node-1');
    });
  });
});

/** A node as a client POSTs it. */
function newPostedNode(name: string) {
  const n = newNode(name);
  delete n.metadata!.uid;
  delete n.metadata!.resourceVersion;
  return n;
}
