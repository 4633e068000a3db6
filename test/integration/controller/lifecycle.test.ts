import assert from 'node:assert/strict';
import {
  ApiException,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Event,
  type V1Service,
} from '@kubernetes/client-node';
import { CloudError, RetryAfterError } from '../../../contract/errors.js';
import {
  createFakeCloud,
  createFakeProvider,
  failValidationAnnotation,
  optionAnnotation,
} from '../../../providers/fake/index.js';
import { findReadyCondition } from '../../../controllers/service/status.js';
import { startTestCluster, type TestCluster } from '../../support/cluster.js';
import {
  newNode,
  newPostedService,
  tweakAnnotations,
  tweakClass,
} from '../../fixtures/builders.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const FINALIZER = 'service.kubernetes.io/load-balancer-cleanup';

async function create(c: TestCluster, svc: V1Service): Promise<V1Service> {
  return c.core.createNamespacedService({
    namespace: svc.metadata!.namespace ?? 'default',
    body: svc,
  });
}

/**
 * Waits until `name` is Ready as the cache sees it and the controller has handled that: the sync
 * that wrote the status has recorded what it applied, and the one its finalizer write queued has run.
 */
async function ready(c: TestCluster, name: string, ns = 'default'): Promise<V1Service> {
  const svc = await c.until(() => {
    const s = c.cached(ns, name);
    return (
      s &&
      findReadyCondition(s)?.reason === 'Ready' &&
      (s.status?.loadBalancer?.ingress?.length ?? 0) > 0 &&
      s
    );
  }, `${ns}/${name} to be ready`);
  await c.idle();
  return svc;
}

/** Turns `name` into a ClusterIP Service; its class must go with the type. */
async function leaveLoadBalancerType(c: TestCluster, name: string): Promise<void> {
  await c.core.patchNamespacedService(
    { name, namespace: 'default', body: { spec: { type: 'ClusterIP', loadBalancerClass: null } } },
    mergePatch,
  );
}

/** The Events on `name`, once the syncs that could still record one have finished. */
async function events(c: TestCluster, name: string): Promise<CoreV1Event[]> {
  await c.idle();
  await c.recorder.flush();
  const list = await c.core.listNamespacedEvent({ namespace: 'default' });
  return list.items.filter((e) => e.involvedObject.name === name);
}

// spec.loadBalancerClass is on by default from 1.22 (beta); 1.20 drops it silently.
const hasLoadBalancerClass = (c: TestCluster) => c.serverMinor >= 22;
// The LoadBalancerIPMode gate is on by default from 1.30; older servers drop ipMode.
const keepsIpMode = (c: TestCluster) => c.serverMinor >= 30;

describe('service controller against an API server', function () {
  let c: TestCluster;
  afterEach(async () => c?.stop());

  describe('creating a LoadBalancer Service', () => {
    beforeEach(async () => {
      c = await startTestCluster({ nodes: [newNode('node-1'), newNode('node-2')] });
    });

    it('adds the finalizer, makes one load balancer over every node and publishes its address', async () => {
      await create(c, newPostedService('web'));
      const svc = await ready(c, 'web');
      assert.deepEqual(svc.metadata?.finalizers, [FINALIZER]);
      const [lb, ...rest] = c.cloud.loadBalancers();
      assert.equal(rest.length, 0);
      assert.deepEqual(lb!.nodes, ['node-1', 'node-2']);
      assert.equal(
        lb!.ports[0]!.nodePort,
        svc.spec!.ports![0]!.nodePort,
        'targets the NodePort the API server allocated',
      );
      const ingress = keepsIpMode(c)
        ? { ip: lb!.ingress[0]!.ip, ipMode: 'VIP' }
        : { ip: lb!.ingress[0]!.ip };
      assert.deepEqual(svc.status!.loadBalancer!.ingress, [ingress]);
      const cond = findReadyCondition(svc)!;
      assert.equal(cond.status, 'True');
      assert.equal(cond.observedGeneration, svc.metadata!.generation);
      const reasons = (await events(c, 'web')).map((e) => e.reason);
      assert.deepEqual(reasons, ['EnsuringLoadBalancer', 'EnsuredLoadBalancer']);
    });

    it('makes no cloud write when nothing changed (a resync is a no-op)', async () => {
      await create(c, newPostedService('web'));
      await ready(c, 'web');
      c.cloud.clearCalls();
      const before = c.syncs.length;
      c.controller.resyncAll();
      const after = await c.syncsAfter(before, 1);
      assert.equal(after[0]!.operation, 'noop');
      assert.deepEqual(c.cloud.calls, [], 'not even a read');
    });

    it('ignores Services of another type', async () => {
      await create(
        c,
        newPostedService(
          'plain',
          (s) => ((s.spec!.type = 'ClusterIP'), delete s.spec!.externalTrafficPolicy),
        ),
      );
      await create(c, newPostedService('ours'));
      await ready(c, 'ours');
      assert.equal(c.cloud.loadBalancers().length, 1);
      assert.equal(c.cached('default', 'plain')?.metadata?.finalizers, undefined);
    });

    it('ignores Services of another class', async function () {
      if (!hasLoadBalancerClass(c)) this.skip(); // the server would drop the class
      await create(c, newPostedService('theirs', tweakClass('other.example.com/lb')));
      await create(c, newPostedService('ours'));
      await ready(c, 'ours');
      assert.equal(c.cloud.loadBalancers().length, 1);
      assert.equal(c.cached('default', 'theirs')?.metadata?.finalizers, undefined);
    });
  });

  describe('changing a Service', () => {
    beforeEach(async () => {
      c = await startTestCluster({ nodes: [newNode('node-1')] });
      await create(c, newPostedService('web'));
      await ready(c, 'web');
      c.cloud.clearCalls();
    });

    it('applies a port change with one update', async () => {
      const cur = c.cached('default', 'web')!;
      const ports = [...cur.spec!.ports!, { name: 'https', port: 443, protocol: 'TCP' }];
      await c.core.patchNamespacedService(
        { name: 'web', namespace: 'default', body: { spec: { ports } } },
        mergePatch,
      );
      await c.until(() => c.cloud.loadBalancers()[0]!.ports.length === 2, 'the second listener');
      assert.deepEqual(
        c.cloud.writes().map((w) => w.method),
        ['UpdateLoadBalancer'],
      );
    });

    it('tears the cloud side down when the type changes to ClusterIP, and clears the status', async () => {
      await c.core.patchNamespacedService(
        { name: 'web', namespace: 'default', body: { spec: { type: 'ClusterIP' } } },
        mergePatch,
      );
      const svc = await c.until(() => {
        const s = c.cached('default', 'web');
        return s && !s.metadata?.finalizers?.length && s;
      }, 'the finalizer to go');
      assert.deepEqual(c.cloud.loadBalancers(), []);
      assert.equal(svc.status?.loadBalancer?.ingress, undefined);
      assert.equal(findReadyCondition(svc), undefined);
      const reasons = (await events(c, 'web')).map((e) => e.reason);
      assert.deepEqual(reasons.slice(-2), ['DeletingLoadBalancer', 'DeletedLoadBalancer']);
    });

    it('tears down a type change with one delete call and one pair of Events', async () => {
      await c.core.patchNamespacedService(
        { name: 'web', namespace: 'default', body: { spec: { type: 'ClusterIP' } } },
        mergePatch,
      );
      await c.until(
        () => !c.cached('default', 'web')?.metadata?.finalizers?.length,
        'the finalizer to go',
      );
      // Clearing the status moves the resourceVersion: the finalizer removal must not 409 on
      // it and go round again, deleting twice.
      const reasons = (await events(c, 'web')).map((e) => e.reason);
      assert.deepEqual(
        reasons.filter((r) => r?.startsWith('Delet')),
        ['DeletingLoadBalancer', 'DeletedLoadBalancer'],
      );
      assert.deepEqual(
        c.cloud.calls.map((call) => call.method),
        ['DeleteLoadBalancer'],
      );
    });

    it('tears the cloud side down on a type change that also dropped the finalizer (kubectl replace)', async () => {
      const cur = c.cached('default', 'web')!;
      // A manifest replaced whole carries no finalizers: the PUT strips ours with the type.
      await c.core.replaceNamespacedService({
        name: 'web',
        namespace: 'default',
        body: {
          metadata: {
            name: 'web',
            namespace: 'default',
            resourceVersion: cur.metadata!.resourceVersion,
          },
          spec: {
            ...cur.spec,
            type: 'ClusterIP',
            externalTrafficPolicy: undefined,
            ports: cur.spec!.ports!.map(({ nodePort: _, ...p }) => p),
          },
        },
      });
      await c.until(
        () => c.cached('default', 'web')?.spec?.type === 'ClusterIP',
        'the type change',
      );
      await c.idle();
      assert.deepEqual(c.cloud.loadBalancers(), []);
      await c.until(
        () => !c.cached('default', 'web')?.status?.loadBalancer?.ingress?.length,
        'the old address to go from the status',
      );
    });

    it('tears the cloud side down when the type changes to NodePort', async () => {
      await c.core.patchNamespacedService(
        { name: 'web', namespace: 'default', body: { spec: { type: 'NodePort' } } },
        mergePatch,
      );
      await c.until(
        () =>
          c.cloud.loadBalancers().length === 0 &&
          !c.cached('default', 'web')?.metadata?.finalizers?.length,
        'teardown',
      );
    });

    it('deletes the load balancer before the Service goes', async () => {
      await c.core.deleteNamespacedService({ name: 'web', namespace: 'default' });
      await c.until(() => c.cached('default', 'web') === undefined, 'the Service to go');
      assert.deepEqual(c.cloud.loadBalancers(), []);
      assert.deepEqual(
        c.cloud.writes().map((w) => w.method),
        ['DeleteLoadBalancer'],
      );
    });
  });

  describe('class filtering', () => {
    it('acts only on its own classes, and cleans up when a Service leaves them', async function () {
      c = await startTestCluster({
        nodes: [newNode('node-1')],
        config: { classes: { loadBalancerClasses: ['example.com/lb'], handleUnclassed: false } },
      });
      if (!hasLoadBalancerClass(c)) this.skip(); // the server would drop the class
      await create(c, newPostedService('unclassed'));
      await create(c, newPostedService('ours', tweakClass('example.com/lb')));
      await ready(c, 'ours');
      assert.equal(c.cloud.loadBalancers().length, 1);
      assert.equal(c.cached('default', 'unclassed')?.metadata?.finalizers, undefined);
      // spec.loadBalancerClass is immutable, so the way out of our class is a type change.
      await leaveLoadBalancerType(c, 'ours');
      await c.until(
        () =>
          c.cloud.loadBalancers().length === 0 &&
          !c.cached('default', 'ours')?.metadata?.finalizers?.length,
        'cleanup',
      );
    });
  });

  describe('leaving our class before the load balancer was ever ready', () => {
    const cases = [
      {
        desc: 'tears down a load balancer still provisioning (the provider said: retry later)',
        setUp: (cloud: TestCluster['cloud']) => (cloud.provisioningDelayMs = 3_600_000),
        attempted: (c: TestCluster) =>
          c.cloud.loadBalancers().length === 1 && c.syncs.some((s) => s.result === 'retry_after'),
      },
      {
        desc: 'removes its finalizer after a create that failed (or the Service could never be deleted)',
        setUp: (cloud: TestCluster['cloud']) =>
          cloud.failNext(
            'CreateLoadBalancer',
            new CloudError('quota exceeded', {
              operation: 'CreateLoadBalancer',
              cloudCode: 'Quota',
            }),
            1000,
          ),
        attempted: (c: TestCluster) => c.syncs.some((s) => s.result === 'error'),
      },
    ];
    for (const { desc, setUp, attempted } of cases) {
      it(desc, async function () {
        c = await startTestCluster({
          nodes: [newNode('node-1')],
          config: { classes: { loadBalancerClasses: ['example.com/lb'], handleUnclassed: false } },
        });
        if (!hasLoadBalancerClass(c)) this.skip(); // the server would drop the class
        setUp(c.cloud);
        await create(c, newPostedService('ours', tweakClass('example.com/lb')));
        await c.until(() => attempted(c), 'a first attempt that did not finish');
        // spec.loadBalancerClass must go with the type: the Service no longer names our class.
        await leaveLoadBalancerType(c, 'ours');
        await c.until(
          () =>
            c.cloud.loadBalancers().length === 0 &&
            c.cached('default', 'ours')?.spec?.type === 'ClusterIP' &&
            !c.cached('default', 'ours')?.metadata?.finalizers?.length,
          'cleanup',
        );
      });
    }
  });

  describe("another controller's Services", () => {
    it('leaves their shared cleanup finalizer and status alone, also when they are deleted', async () => {
      c = await startTestCluster({
        nodes: [newNode('node-1')],
        config: { classes: { loadBalancerClasses: ['example.com/lb'], handleUnclassed: false } },
      });
      // The cluster's own cloud controller serves unclassed Services with upstream's finalizer.
      const theirs = newPostedService('theirs');
      theirs.metadata!.finalizers = [FINALIZER];
      await create(c, theirs);
      await c.core.patchNamespacedServiceStatus(
        {
          name: 'theirs',
          namespace: 'default',
          body: { status: { loadBalancer: { ingress: [{ ip: '198.51.100.7' }] } } },
        },
        mergePatch,
      );
      await c.until(
        () => c.cached('default', 'theirs')?.status?.loadBalancer?.ingress?.length,
        'their status',
      );
      await c.core.deleteNamespacedService({ name: 'theirs', namespace: 'default' });
      await c.until(
        () => c.cached('default', 'theirs')?.metadata?.deletionTimestamp,
        'the deletion',
      );
      await c.idle();

      const svc = await c.core.readNamespacedService({ name: 'theirs', namespace: 'default' });
      assert.deepEqual(
        svc.metadata?.finalizers,
        [FINALIZER],
        'their finalizer stays for them to remove',
      );
      assert.equal(svc.status?.loadBalancer?.ingress?.[0]?.ip, '198.51.100.7');
      assert.deepEqual(c.cloud.calls, []);
      assert.deepEqual(await events(c, 'theirs'), []);
      // Let the test's cleanup delete it.
      await c.core.patchNamespacedService(
        { name: 'theirs', namespace: 'default', body: { metadata: { finalizers: null } } },
        mergePatch,
      );
    });
  });

  describe('cloud failures', () => {
    it('reports a failure honestly, backs off and recovers', async () => {
      c = await startTestCluster({ nodes: [newNode('node-1')] });
      c.cloud.failNext(
        'CreateLoadBalancer',
        // Not transient: the gate does not retry it, the sync fails and backs off.
        new CloudError('capacity', {
          operation: 'CreateLoadBalancer',
          cloudCode: 'InsufficientCapacity',
          retryable: false,
        }),
        2,
      );
      await create(c, newPostedService('web'));
      const failed = await c.until(() => {
        const s = c.cached('default', 'web');
        return s && findReadyCondition(s)?.reason === 'Failed' && s;
      }, 'a Failed condition');
      assert.match(findReadyCondition(failed)!.message, /capacity/);
      await ready(c, 'web');
      assert.equal(
        c.cloud.loadBalancers().length,
        1,
        'exactly one load balancer after the retries',
      );
      const reasons = (await events(c, 'web'))
        .filter((e) => e.type === 'Warning')
        .map((e) => e.reason);
      assert.ok(reasons.includes('SyncLoadBalancerFailed'));
    });

    it('reports Provisioning while the cloud says so, then Ready', async () => {
      c = await startTestCluster({
        nodes: [newNode('node-1')],
        cloudConfig: { provisioningDelayMs: 150 },
      });
      await create(c, newPostedService('web'));
      await c.until(
        () => findReadyCondition(c.cached('default', 'web') ?? {})?.reason === 'Provisioning',
        'Provisioning',
      );
      await ready(c, 'web');
      assert.equal(
        c.syncs.filter((s) => s.result === 'error').length,
        0,
        'provisioning is not a failure',
      );
    });
  });

  describe('drift and slow deletes', () => {
    it('recreates a load balancer deleted out of band on the next repair pass', async () => {
      c = await startTestCluster({ nodes: [newNode('node-1')] });
      await create(c, newPostedService('web'));
      await ready(c, 'web');
      const [lb] = c.cloud.loadBalancers();
      await c.cloud.deleteLoadBalancer(lb!.name, 'someone else');
      c.controller.repairAll();
      await c.until(() => c.cloud.loadBalancers().length === 1, 'the load balancer to come back');
    });

    it('waits as told while the cloud is still releasing a deleted load balancer, without a failure', async () => {
      c = await startTestCluster({ nodes: [newNode('node-1')] });
      await create(c, newPostedService('web'));
      await ready(c, 'web');
      c.cloud.failNext(
        'DeleteLoadBalancer',
        new RetryAfterError('security group still in use', 30),
        2,
      );
      await c.core.deleteNamespacedService({ name: 'web', namespace: 'default' });
      await c.until(() => c.cached('default', 'web') === undefined, 'the Service to go');
      assert.deepEqual(c.cloud.loadBalancers(), []);
      assert.equal(c.syncs.filter((s) => s.result === 'error').length, 0);
      const warnings = (await events(c, 'web')).filter((e) => e.type === 'Warning');
      assert.deepEqual(warnings, []);
    });
  });

  describe('bad input', () => {
    it('warns naming the field, leaves the cloud alone, and does not hold up other Services', async () => {
      c = await startTestCluster({ nodes: [newNode('node-1')] });
      // The API server validates source ranges itself; a provider's annotation arrives unchecked.
      await create(
        c,
        newPostedService('bad', tweakAnnotations({ 'fake.kube-lbc.io/option': 'sometimes' })),
      );
      await create(c, newPostedService('good'));
      await ready(c, 'good');
      const bad = await c.until(() => {
        const s = c.cached('default', 'bad');
        return s && findReadyCondition(s)?.reason === 'Invalid' && s;
      }, 'an Invalid condition');
      assert.match(
        findReadyCondition(bad)!.message,
        /metadata\.annotations\[fake\.kube-lbc\.io\/option\]: unsupported value "sometimes"/,
      );
      assert.equal(c.cloud.loadBalancers().length, 1);
      assert.ok(
        !c.cloud.calls.some((call) => call.service === 'default/bad'),
        'no cloud call for the bad Service',
      );
      const warning = (await events(c, 'bad')).find((e) => e.type === 'Warning');
      assert.match(warning!.message!, /fake\.kube-lbc\.io\/option/);
    });

    it('keeps the existing load balancer untouched when a valid Service turns invalid', async () => {
      c = await startTestCluster({ nodes: [newNode('node-1')] });
      await create(c, newPostedService('web'));
      await ready(c, 'web');
      const lbBefore = c.cloud.loadBalancers();
      c.cloud.clearCalls();
      await c.core.patchNamespacedService(
        {
          name: 'web',
          namespace: 'default',
          body: { metadata: { annotations: { [failValidationAnnotation]: 'no' } } },
        },
        mergePatch,
      );
      await c.until(
        () => findReadyCondition(c.cached('default', 'web') ?? {})?.reason === 'Invalid',
        'Invalid',
      );
      assert.deepEqual(c.cloud.calls, []);
      assert.deepEqual(c.cloud.loadBalancers(), lbBefore);
      assert.ok(
        (c.cached('default', 'web')!.status!.loadBalancer!.ingress?.length ?? 0) > 0,
        'the address stays published',
      );
    });

    it('reports Ready again when an invalid change is reverted', async () => {
      c = await startTestCluster({ nodes: [newNode('node-1')] });
      await create(c, newPostedService('web'));
      await ready(c, 'web');
      const annotate = (value: string | null) =>
        c.core.patchNamespacedService(
          {
            name: 'web',
            namespace: 'default',
            body: { metadata: { annotations: { [failValidationAnnotation]: value } } },
          },
          mergePatch,
        );
      await annotate('no');
      await c.until(
        () => findReadyCondition(c.cached('default', 'web') ?? {})?.reason === 'Invalid',
        'Invalid',
      );
      await annotate(null);
      await c.until(
        () => !c.cached('default', 'web')?.metadata?.annotations?.[failValidationAnnotation],
        'the annotation to go',
      );
      await c.until(
        () => findReadyCondition(c.cached('default', 'web') ?? {})?.reason === 'Ready',
        'Ready',
        2000,
      );
    });

    it('refuses a protocol the provider does not support, before any cloud call', async () => {
      c = await startTestCluster({
        nodes: [newNode('node-1')],
        capabilities: { protocols: ['TCP'] },
      });
      await create(
        c,
        newPostedService(
          'dns',
          (s) => (s.spec!.ports = [{ name: 'dns', port: 53, protocol: 'UDP' }]),
        ),
      );
      const svc = await c.until(() => {
        const s = c.cached('default', 'dns');
        return s && findReadyCondition(s)?.reason === 'Invalid' && s;
      }, 'Invalid');
      assert.match(findReadyCondition(svc)!.message, /spec\.ports\[0\]\.protocol/);
      assert.deepEqual(c.cloud.calls, []);
    });
  });

  describe('annotations', () => {
    it('undoes a change the cloud took before the sync failed, when the change is reverted', async () => {
      // A provider that changes the cloud and then fails (a status blip, a later call throttled)
      // whenever the option is 'disabled'.
      const cloud = createFakeCloud();
      const inner = createFakeProvider(cloud);
      c = await startTestCluster({
        nodes: [newNode('node-1')],
        cloud,
        provider: async (options) => {
          const p = await inner(options);
          const ensure = p.ensureLoadBalancer.bind(p);
          p.ensureLoadBalancer = async (ctx, cluster, svc, nodes) => {
            const status = await ensure(ctx, cluster, svc, nodes);
            if (svc.metadata?.annotations?.[optionAnnotation] === 'disabled') {
              throw new CloudError('late failure', { operation: 'Describe', cloudCode: 'Oops' });
            }
            return status;
          };
          return p;
        },
      });
      // kube-apiserver 1.20 was seen (once in three runs) answering this patch, which carries no
      // resourceVersion, with a 409 while the controller's status write landed: a user's client
      // tries again on a conflict, and so does the test. The emulator never does.
      const setOption = async (value: string): Promise<void> => {
        for (let attempt = 1; ; attempt++) {
          try {
            await c.core.patchNamespacedService(
              {
                name: 'web',
                namespace: 'default',
                body: { metadata: { annotations: { [optionAnnotation]: value } } },
              },
              mergePatch,
            );
            return;
          } catch (err) {
            if (!(err instanceof ApiException && err.code === 409) || attempt === 3) throw err;
          }
        }
      };
      await create(c, newPostedService('web', tweakAnnotations({ [optionAnnotation]: 'enabled' })));
      await ready(c, 'web');
      await setOption('disabled');
      await c.until(() => cloud.loadBalancers()[0]!.option === 'disabled', 'the cloud to change');
      await setOption('enabled');
      await c.until(
        () => c.cached('default', 'web')?.metadata?.annotations?.[optionAnnotation] === 'enabled',
        'the revert in the cache',
      );
      await c.idle();
      assert.equal(cloud.loadBalancers()[0]!.option, 'enabled');
      await c.until(
        () => findReadyCondition(c.cached('default', 'web') ?? {})?.reason === 'Ready',
        'Ready',
        2000,
      );
    });

    it('applies an annotation change with one update', async () => {
      c = await startTestCluster({ nodes: [newNode('node-1')] });
      await create(
        c,
        newPostedService('web', tweakAnnotations({ 'fake.kube-lbc.io/option': 'enabled' })),
      );
      await ready(c, 'web');
      c.cloud.clearCalls();
      await c.core.patchNamespacedService(
        {
          name: 'web',
          namespace: 'default',
          body: { metadata: { annotations: { 'fake.kube-lbc.io/option': 'disabled' } } },
        },
        mergePatch,
      );
      await c.until(
        () => c.cloud.loadBalancers()[0]!.option === 'disabled',
        'the option to change',
      );
      assert.deepEqual(
        c.cloud.writes().map((w) => w.method),
        ['UpdateLoadBalancer'],
      );
    });
  });
});
