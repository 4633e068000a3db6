/**
 * Two clusters sharing one AWS account (one moto): neither can be made to delete the other's
 * NLBs. A user cannot write another cluster's ownership tag through additional-resource-tags,
 * and a forged tag put on by hand (or by a kube-lbc from before that check) is not enough for
 * the other cluster's garbage collector, which also wants the name it derives from the UID and
 * the API server's word that the Service is gone.
 */
import assert from 'node:assert/strict';
import {
  AddTagsCommand,
  DescribeLoadBalancersCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { V1Node, V1Service } from '@kubernetes/client-node';
import { collectGarbage } from '../../../controllers/service/garbage-collector.js';
import { annotation } from '../../../providers/aws/annotations.js';
import { loadBalancerName } from '../../../providers/aws/names.js';
import { InvalidServiceError, RetryAfterError } from '../../../contract/errors.js';
import type { CallContext, LoadBalancerProvider } from '../../../contract/provider.js';
import { noopLogger } from '../../../contract/logger.js';
import { newNode, newService, tweakAnnotations, tweakProviderID } from '../../fixtures/builders.js';
import { seedAccount, startAwsEndpoint, type AwsTestEndpoint } from '../../support/moto.js';
import { newProvider, RecordingCalls } from './harness.js';

interface Cluster {
  name: string;
  provider: LoadBalancerProvider;
  calls: RecordingCalls;
  nodes: V1Node[];
  /** What the informer cache holds. */
  cached: V1Service[];
  /** What the API server holds, by namespace/name. */
  stored: Map<string, V1Service>;
}

const ctx: CallContext = {
  signal: new AbortController().signal,
  logger: noopLogger,
  recordEvent: () => {},
};

describe('aws provider: two clusters in one account', function () {
  this.timeout(60_000);
  let endpoint: AwsTestEndpoint;
  let a: Cluster;
  let b: Cluster;

  before(async () => {
    endpoint = await startAwsEndpoint();
  });
  after(async () => endpoint?.stop());
  beforeEach(async () => {
    await endpoint.reset();
    a = await newCluster('cluster-a');
    b = await newCluster('cluster-b');
  });
  afterEach(async () => {
    await a?.provider.close?.();
    await b?.provider.close?.();
  });

  async function newCluster(name: string): Promise<Cluster> {
    const account = await seedAccount(name, 2);
    const calls = new RecordingCalls();
    return {
      name,
      provider: await newProvider(calls, name),
      calls,
      nodes: account.instances.map((i, n) =>
        newNode(`${name}-node-${n}`, tweakProviderID(`aws:///${i.zone}/${i.id}`)),
      ),
      cached: [],
      stored: new Map(),
    };
  }

  async function create(c: Cluster, service: V1Service): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await c.provider.ensureLoadBalancer(ctx, c.name, service, c.nodes);
        break;
      } catch (err) {
        if (!(err instanceof RetryAfterError) || attempt >= 3) throw err;
      }
    }
    c.cached.push(service);
    c.stored.set(`default/${service.metadata!.name}`, service);
  }

  const gc = (c: Cluster) =>
    collectGarbage({
      provider: c.provider,
      clusterName: c.name,
      services: () => c.cached,
      getService: async (namespace, name) => c.stored.get(`${namespace}/${name}`),
      logger: noopLogger,
      signal: ctx.signal,
      handOff: () => assert.fail('nothing to hand off'),
    });

  async function nlbNames(): Promise<string[]> {
    const elb = new ElasticLoadBalancingV2Client({});
    try {
      const out = await elb.send(new DescribeLoadBalancersCommand({}));
      return (out.LoadBalancers ?? []).map((lb) => lb.LoadBalancerName!).sort();
    } finally {
      elb.destroy();
    }
  }

  it("refuses another cluster's ownership tag in additional-resource-tags, before any AWS call", async () => {
    const forged = newService(
      'web',
      tweakAnnotations({
        [annotation.additionalTags]: `team=web,kubernetes.io/cluster/${a.name}=owned`,
      }),
    );
    await assert.rejects(
      b.provider.ensureLoadBalancer(ctx, b.name, forged, b.nodes),
      (err: unknown) =>
        err instanceof InvalidServiceError &&
        err.fieldErrors.some(
          (f) => f.field === `metadata.annotations[${annotation.additionalTags}]`,
        ),
    );
    assert.deepEqual(b.calls.operations, []);
  });

  it("never lists or deletes the other cluster's NLB carrying a forged tag, and deletes only proven orphans", async () => {
    const theirs = newService('web');
    await create(b, theirs);
    // As a person, or a kube-lbc without the check above, could have done.
    const elb = new ElasticLoadBalancingV2Client({});
    try {
      const lbs = await elb.send(
        new DescribeLoadBalancersCommand({ Names: [loadBalancerName(b.name, theirs)] }),
      );
      await elb.send(
        new AddTagsCommand({
          ResourceArns: [lbs.LoadBalancers![0]!.LoadBalancerArn!],
          Tags: [{ Key: `kubernetes.io/cluster/${a.name}`, Value: 'owned' }],
        }),
      );
    } finally {
      elb.destroy();
    }

    // Cluster a: one Service deleted while kube-lbc was down (an orphan), and one the API server
    // has but the cache has not seen yet.
    const orphan = newService('gone');
    const fresh = newService('fresh');
    await create(a, orphan);
    await create(a, fresh);
    a.cached = [];
    a.stored.delete('default/gone');

    const owned = await a.provider.listLoadBalancers!(ctx, a.name);
    assert.deepEqual(
      owned.map((o) => o.serviceUID).sort(),
      [orphan.metadata!.uid!, fresh.metadata!.uid!].sort(),
      "cluster a's listing: its own two, not cluster b's",
    );
    assert.equal(await gc(a), 1);
    assert.deepEqual(
      await nlbNames(),
      [loadBalancerName(a.name, fresh), loadBalancerName(b.name, theirs)].sort(),
    );
    // And cluster b's own collector still sees its NLB as live.
    assert.equal(await gc(b), 0);
    assert.ok((await nlbNames()).includes(loadBalancerName(b.name, theirs)));
  });
});
