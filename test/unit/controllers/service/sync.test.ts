import assert from 'node:assert/strict';
import { ApiException, type V1Service } from '@kubernetes/client-node';
import { noopServiceMetrics } from '../../../../controllers/service/metrics.js';
import { nodeSetFingerprint } from '../../../../controllers/service/predicates.js';
import { ServiceSyncer, type SyncOutcome } from '../../../../controllers/service/sync.js';
import { CloudError, RetryAfterError } from '../../../../contract/errors.js';
import { noopLogger } from '../../../../contract/logger.js';
import {
  newNode,
  newService,
  tweakAddPorts,
  tweakClass,
  tweakFinalizer,
  tweakNoNodePorts,
  tweakType,
  type Tweak,
} from '../../../fixtures/builders.js';
import { FakeServiceApi } from './fake-service-api.js';
import { INGRESS_IP, RecordingCloud, type CloudCall } from './recording-cloud.js';

const KEY = 'default/web';
const UID = '00000000-0000-4000-8000-00000000beef';
const OTHER_CLASS = 'example.com/other';

const sameUid: Tweak<V1Service> = (s) => {
  s.metadata!.uid = UID;
};
const tweakDeleting: Tweak<V1Service> = (s) => {
  s.metadata!.deletionTimestamp = new Date('2025-01-01T00:00:00Z');
};
const tweakNoFinalizer: Tweak<V1Service> = (s) => {
  s.metadata!.finalizers = [];
};
const tweakRelease =
  (value: string): Tweak<V1Service> =>
  (s) => {
    s.metadata!.annotations = { ...s.metadata!.annotations, 'kube-lbc.io/release': value };
  };
const tweakHttps = tweakAddPorts({ name: 'https', port: 443, protocol: 'TCP', nodePort: 30443 });
const tweakSctp = tweakAddPorts({ name: 'sctp', port: 9, protocol: 'SCTP', nodePort: 30009 });
const cloudError = () =>
  new CloudError('CreateLoadBalancer: InternalError', {
    operation: 'CreateLoadBalancer',
    cloudCode: 'InternalError',
  });

/** One version of the Service synced in a row's history, with the cloud failing as `err`. */
interface Step {
  readonly tweaks: readonly Tweak<V1Service>[];
  readonly err?: Error;
}

interface Case {
  readonly desc: string;
  /** Earlier versions of the same Service, each put and synced in turn; nothing asserted. */
  readonly before?: readonly Step[];
  /** Between the history and the sync: a repair pass forgets what was applied. */
  readonly repair?: boolean;
  /** The Service the sync under test finds in the cache, or `gone` when it was deleted. */
  readonly service: readonly Tweak<V1Service>[] | 'gone';
  /** @default ['node-1', 'node-2'] */
  readonly nodes?: readonly string[];
  readonly cloud?: {
    readonly exists?: boolean;
    readonly err?: Error;
    readonly noRelease?: boolean;
  };
  readonly want: {
    /** `operation/result` as the sync metric counts it. */
    readonly op: string;
    readonly outcome?: SyncOutcome;
    readonly throws?: RegExp;
    readonly calls: readonly CloudCall[];
    readonly writes: readonly string[];
    readonly events: readonly string[];
    /** Whether the cloud holds a load balancer for the Service afterwards. */
    readonly exists: boolean;
  };
}

const ensured = ['Normal EnsuringLoadBalancer', 'Normal EnsuredLoadBalancer'];
const deleted = ['Normal DeletingLoadBalancer', 'Normal DeletedLoadBalancer'];
const ready = `status Ready ${INGRESS_IP}`;

const cases: Case[] = [
  {
    desc: 'creates the load balancer of a new Service, finalizer first',
    service: [],
    want: {
      op: 'ensure/success',
      calls: ['ensure'],
      writes: ['add finalizer', ready],
      events: ensured,
      exists: true,
    },
  },
  {
    desc: 'allocates missing NodePorts before it creates',
    service: [tweakNoNodePorts],
    want: {
      op: 'ensure/success',
      calls: ['ensure'],
      writes: ['allocate NodePorts', 'add finalizer', ready],
      events: ensured,
      exists: true,
    },
  },
  {
    desc: 'makes no call and no write for a Service that has not changed',
    before: [{ tweaks: [] }],
    service: [],
    want: { op: 'noop/success', calls: [], writes: [], events: [], exists: true },
  },
  {
    desc: 'ensures again when the spec changed, writing no status that is already right',
    before: [{ tweaks: [] }],
    service: [tweakHttps],
    want: { op: 'ensure/success', calls: ['ensure'], writes: [], events: ensured, exists: true },
  },
  {
    desc: 'only updates the hosts when only the node set changed',
    before: [{ tweaks: [] }],
    nodes: ['node-1', 'node-2', 'node-3'],
    service: [],
    want: {
      op: 'update_hosts/success',
      calls: ['update hosts'],
      writes: [],
      events: ['Normal UpdatedLoadBalancer'],
      exists: true,
    },
  },
  {
    desc: 'ensures an unchanged Service again after a repair pass forgot what was applied',
    before: [{ tweaks: [] }],
    repair: true,
    service: [],
    want: { op: 'ensure/success', calls: ['ensure'], writes: [], events: ensured, exists: true },
  },
  {
    desc: 'leaves the cloud untouched for an invalid Service and says why',
    before: [{ tweaks: [] }],
    service: [tweakSctp],
    want: {
      op: 'invalid/invalid',
      calls: [],
      writes: [`status Invalid ${INGRESS_IP}`],
      events: ['Warning SyncLoadBalancerFailed'],
      exists: true,
    },
  },
  {
    desc: 'tears down the load balancer of a Service turned into a ClusterIP',
    before: [{ tweaks: [] }],
    service: [tweakType('ClusterIP')],
    want: {
      op: 'delete/success',
      calls: ['delete'],
      writes: ['status cleared', 'remove finalizer'],
      events: deleted,
      exists: false,
    },
  },
  {
    desc: 'tears down what it made for a ClusterIP whose change dropped our finalizer',
    before: [{ tweaks: [] }],
    service: [tweakType('ClusterIP'), tweakNoFinalizer],
    want: {
      op: 'delete/success',
      calls: ['delete'],
      writes: ['status cleared'],
      events: deleted,
      exists: false,
    },
  },
  {
    desc: 'deletes the load balancer of a deleted Service, then lets the Service go',
    before: [{ tweaks: [] }],
    service: [tweakDeleting],
    want: {
      op: 'delete/success',
      calls: ['delete'],
      writes: ['remove finalizer'],
      events: deleted,
      exists: false,
    },
  },
  {
    desc: 'deletes the load balancer of a Service gone with its finalizer stripped by hand',
    before: [{ tweaks: [] }],
    service: 'gone',
    want: { op: 'delete/success', calls: ['delete'], writes: [], events: [], exists: false },
  },
  {
    desc: "ignores a Service of another class, with that controller's finalizer",
    service: [tweakClass(OTHER_CLASS), tweakFinalizer],
    cloud: { exists: true },
    want: { op: 'noop/success', calls: [], writes: [], events: [], exists: true },
  },
  {
    desc: 'leaves the finalizer of a deleted Service of another class alone',
    service: [tweakClass(OTHER_CLASS), tweakFinalizer, tweakDeleting],
    cloud: { exists: true },
    want: { op: 'noop/success', calls: [], writes: [], events: [], exists: true },
  },
  {
    desc: 'releases a load balancer asked to be released, keeping it and its ingress',
    before: [{ tweaks: [] }],
    service: [tweakFinalizer, tweakRelease('true')],
    want: {
      op: 'noop/success',
      calls: ['release'],
      writes: ['remove finalizer'],
      events: ['Normal Released'],
      exists: true,
    },
  },
  {
    desc: 'makes no call at all for a Service already released',
    before: [{ tweaks: [] }, { tweaks: [tweakRelease('true')] }],
    service: [tweakNoFinalizer, tweakRelease('true'), tweakHttps],
    want: { op: 'noop/success', calls: [], writes: [], events: [], exists: true },
  },
  {
    desc: 'releases a Service deleted before its release finished, then lets it go',
    before: [{ tweaks: [] }],
    service: [tweakFinalizer, tweakRelease('true'), tweakDeleting],
    want: {
      op: 'noop/success',
      calls: ['release'],
      writes: ['remove finalizer'],
      events: ['Normal Released'],
      exists: true,
    },
  },
  {
    desc: 'takes a Service back when its release annotation is removed',
    before: [{ tweaks: [] }, { tweaks: [tweakRelease('true')] }],
    service: [tweakNoFinalizer, tweakRelease('false')],
    want: {
      op: 'ensure/success',
      calls: ['ensure'],
      // The ingress stayed through the release, so the status is already right.
      writes: ['add finalizer'],
      events: ensured,
      exists: true,
    },
  },
  {
    desc: 'refuses a release the provider cannot make, changing nothing',
    before: [{ tweaks: [] }],
    service: [tweakFinalizer, tweakRelease('true')],
    cloud: { noRelease: true },
    want: {
      op: 'noop/success',
      calls: [],
      writes: [],
      events: ['Warning ReleaseUnsupported'],
      exists: true,
    },
  },
  {
    desc: 'refuses a release annotation that is neither true nor false, changing nothing',
    before: [{ tweaks: [] }],
    service: [tweakFinalizer, tweakRelease('yes'), tweakHttps],
    want: {
      op: 'noop/success',
      calls: [],
      writes: [],
      events: ['Warning SyncLoadBalancerFailed'],
      exists: true,
    },
  },
  {
    desc: 'publishes a provisioning load balancer and asks to be synced after the delay',
    service: [],
    cloud: {
      err: new RetryAfterError('provisioning', 15_000, { ingress: [{ hostname: 'lb.example' }] }),
    },
    want: {
      op: 'ensure/retry_after',
      outcome: { retryAfterMs: 15_000 },
      calls: ['ensure'],
      writes: ['add finalizer', 'status Provisioning lb.example'],
      events: ['Normal EnsuringLoadBalancer'],
      exists: false,
    },
  },
  {
    desc: 'reports a cloud error and throws it for the queue to back off',
    service: [],
    cloud: { err: cloudError() },
    want: {
      op: 'ensure/error',
      throws: /ensure load balancer/,
      calls: ['ensure'],
      writes: ['add finalizer', 'status Failed'],
      events: ['Normal EnsuringLoadBalancer', 'Warning SyncLoadBalancerFailed'],
      exists: false,
    },
  },
  {
    desc: 'ensures a spec reverted after a failed sync, which may have left the cloud part-way',
    before: [{ tweaks: [] }, { tweaks: [tweakHttps], err: cloudError() }],
    service: [],
    want: {
      op: 'ensure/success',
      calls: ['ensure'],
      writes: [ready],
      events: ensured,
      exists: true,
    },
  },
  {
    desc: 'ensures a spec reverted after it was refused as invalid, to put the condition back',
    before: [{ tweaks: [] }, { tweaks: [tweakSctp] }],
    service: [],
    want: {
      op: 'ensure/success',
      calls: ['ensure'],
      writes: [ready],
      events: ensured,
      exists: true,
    },
  },
];

/** A syncer over an in-memory API and a recording cloud, as upstream's newController. */
function newSyncer() {
  const api = new FakeServiceApi();
  const cloud = new RecordingCloud();
  const events: string[] = [];
  const ops: string[] = [];
  let nodes = ['node-1', 'node-2'].map((n) => newNode(n));
  const syncer = new ServiceSyncer({
    api,
    provider: cloud,
    clusterName: 'test',
    classes: { loadBalancerClasses: [], handleUnclassed: true },
    nodePortRange: { min: 30000, max: 32767 },
    services: api,
    nodeSet: () => ({ nodes, fingerprint: nodeSetFingerprint(nodes) }),
    recorder: { record: (_svc, type, reason) => events.push(`${type} ${reason}`) },
    metrics: { ...noopServiceMetrics, sync: (op, result) => ops.push(`${op}/${result}`) },
    logger: noopLogger,
    signal: new AbortController().signal,
    random: () => 0,
  });
  const setNodes = (names: readonly string[]) => (nodes = names.map((n) => newNode(n)));
  return { syncer, api, cloud, events, ops, setNodes };
}

describe('ServiceSyncer.sync', () => {
  for (const c of cases) {
    it(c.desc, async () => {
      const { syncer, api, cloud, events, ops, setNodes } = newSyncer();
      for (const step of c.before ?? []) {
        api.put(newService('web', sameUid, ...step.tweaks));
        cloud.err = step.err;
        await syncer.sync(KEY).catch(() => undefined);
      }
      for (const log of [cloud.calls, api.writes, events, ops]) log.length = 0;
      if (c.repair) syncer.forgetApplied();
      if (c.nodes) setNodes(c.nodes);
      if (c.service === 'gone') api.remove(KEY);
      else api.put(newService('web', sameUid, ...c.service));
      cloud.exists = c.cloud?.exists ?? cloud.exists;
      cloud.err = c.cloud?.err;
      if (c.cloud?.noRelease) cloud.releaseLoadBalancer = undefined;

      const sync = syncer.sync(KEY);
      if (c.want.throws) await assert.rejects(sync, c.want.throws);
      else assert.deepEqual(await sync, c.want.outcome ?? {});

      assert.deepEqual(ops, [c.want.op], 'operation');
      assert.deepEqual(cloud.calls, c.want.calls, 'provider calls');
      assert.deepEqual(api.writes, c.want.writes, 'API writes');
      assert.deepEqual(events, c.want.events, 'Events');
      assert.equal(cloud.exists, c.want.exists, 'load balancer exists afterwards');
    });
  }
});

describe('ServiceSyncer.sync while the finalizer patch fails', () => {
  it('writes no status, and deletes what the cloud call made once the Service is gone', async () => {
    const { syncer, api, cloud } = newSyncer();
    api.put(newService('web', sameUid));
    const patch = api.patchNamespacedServiceStatus.bind(api);
    api.patchNamespacedServiceStatus = async (param) => {
      if ((param.body as V1Service).metadata?.finalizers === undefined) return patch(param);
      throw new ApiException(409, 'services "web": the object has been modified', {}, {});
    };
    await assert.rejects(syncer.sync(KEY), /409/);
    assert.deepEqual(api.writes, [], 'no status on a Service without our finalizer');
    assert.equal(cloud.exists, true, 'made by the cloud call that ran beside the patch');

    api.patchNamespacedServiceStatus = patch;
    api.remove(KEY);
    cloud.calls.length = 0;
    await syncer.sync(KEY);
    assert.deepEqual(cloud.calls, ['delete']);
    assert.equal(cloud.exists, false);
  });
});
