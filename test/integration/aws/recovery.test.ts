/**
 * The AWS provider after a crash: a create or delete interrupted right after any write call
 * (the call succeeded, the process never saw the answer) is finished by the next run without a
 * duplicate, and the garbage collector's listing finds what a Service left behind.
 */
import assert from 'node:assert/strict';
import {
  AddTagsCommand,
  CreateListenerCommand,
  CreateTargetGroupCommand,
  DeleteListenerCommand,
  DeleteTargetGroupCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { V1Service } from '@kubernetes/client-node';
import { forwardsTo } from '../../../providers/aws/listeners.js';
import { targetGroupName } from '../../../providers/aws/names.js';
import {
  ownershipTags,
  retiringTag,
  serviceUidTag,
  toAwsTags,
} from '../../../providers/aws/tags.js';
import { RetryAfterError } from '../../../contract/errors.js';
import { annotation } from '../../../providers/aws/annotations.js';
import {
  newService,
  tweakAddPorts,
  tweakAnnotations,
  tweakSourceRanges,
} from '../../fixtures/builders.js';
import {
  assertInventoryMatches,
  clusterName,
  newProvider,
  RecordingCalls,
  useAwsHarness,
} from './harness.js';
import { readInventory } from './inventory.js';
import { nodeSecurityGroupName } from '../../support/moto.js';
import { startFaultProxy, type Fault } from '../../support/fault-proxy.js';

/** Every write a create makes, in order, as seen on a clean run. */
const createWrites = [
  { operation: 'CreateSecurityGroup', nth: 1 },
  { operation: 'AuthorizeSecurityGroupIngress', nth: 1 },
  { operation: 'CreateLoadBalancer', nth: 1 },
  { operation: 'CreateTargetGroup', nth: 1 },
  { operation: 'CreateTargetGroup', nth: 2 },
  { operation: 'RegisterTargets', nth: 1 },
  { operation: 'CreateListener', nth: 1 },
  { operation: 'CreateListener', nth: 2 },
];

const twoPorts = () =>
  newService(
    'web',
    tweakSourceRanges('10.0.0.0/8'),
    tweakAddPorts({ name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 }),
  );

describe('aws provider crash recovery against moto', function () {
  this.timeout(60_000);
  const h = useAwsHarness();

  it('makes the writes this table expects on a clean create', async () => {
    await h.ensureReady(twoPorts(), h.nodes(1));
    const writes = h.calls.writes();
    for (const { operation, nth } of createWrites) {
      assert.ok(
        writes.filter((w) => w === operation).length >= nth,
        `${operation} #${nth} happens`,
      );
    }
  });

  for (const crash of createWrites) {
    it(`finishes a create that died after ${crash.operation} #${crash.nth}, without duplicates`, async () => {
      const svc = twoPorts();
      h.calls.crashAfter = crash;
      await assert.rejects(
        h.provider.ensureLoadBalancer(h.ctx, clusterName, svc, h.nodes()),
        /simulated crash/,
      );
      // A restarted controller: a new provider, no memory of the first.
      await h.provider.close?.();
      h.calls = new RecordingCalls();
      h.provider = await newProvider(h.calls);
      await h.ensureReady(svc, h.nodes());
    });

    it(`deletes a create that died after ${crash.operation} #${crash.nth}`, async () => {
      const svc = twoPorts();
      h.calls.crashAfter = crash;
      await assert.rejects(
        h.provider.ensureLoadBalancer(h.ctx, clusterName, svc, h.nodes()),
        /simulated crash/,
      );
      await deleteUntilDone(svc);
    });
  }

  for (const crash of [
    { operation: 'DeleteListener', nth: 1 },
    { operation: 'DeleteTargetGroup', nth: 1 },
    { operation: 'DeleteLoadBalancer', nth: 1 },
  ]) {
    it(`finishes a delete that died after ${crash.operation}, and the GC still finds what is left`, async () => {
      const svc = twoPorts();
      await h.ensureReady(svc, h.nodes());
      h.live.clear();
      h.calls.crashAfter = crash;
      await assert.rejects(
        h.provider.ensureLoadBalancerDeleted(h.ctx, clusterName, svc),
        /simulated crash/,
      );
      const owned = await h.provider.listLoadBalancers!(h.ctx, clusterName);
      assert.deepEqual(
        owned.map((o) => o.serviceUID),
        [svc.metadata!.uid],
      );
      // The garbage collector knows only UID, namespace and name.
      await deleteUntilDone({
        metadata: {
          uid: owned[0]!.serviceUID,
          namespace: owned[0]!.namespace,
          name: owned[0]!.name,
        },
      });
    });
  }

  // A port change retires a target group: the listener moves off it, then the group is deleted.
  // Dying between the two left a group no listener uses, which the NLB no longer lists.
  for (const [desc, change, crash] of [
    [
      'a NodePort change',
      (s: V1Service) => (s.spec!.ports![0]!.nodePort = 30099),
      { operation: 'ModifyListener', nth: 1 },
    ],
    [
      'a dropped port',
      (s: V1Service) => s.spec!.ports!.pop(),
      { operation: 'DeleteListener', nth: 1 },
    ],
  ] as const) {
    it(`deletes the group ${desc} retired when the run died after ${crash.operation}`, async () => {
      const svc = twoPorts();
      await h.ensureReady(svc, h.nodes());
      const changed = structuredClone(svc);
      change(changed);
      h.calls.crashAfter = { ...crash };
      await assert.rejects(
        h.provider.ensureLoadBalancer(h.ctx, clusterName, changed, h.nodes()),
        /simulated crash/,
      );
      await h.provider.close?.();
      h.calls = new RecordingCalls();
      h.provider = await newProvider(h.calls);
      await h.ensureReady(changed, h.nodes());
      await assertInventoryMatches(h.live);
    });
  }

  it('deletes an owned group no listener uses, made as a crash leaves it, and only ours', async () => {
    const svc = twoPorts();
    await h.ensureReady(svc, h.nodes());
    const uid = svc.metadata!.uid!;
    const elb = new ElasticLoadBalancingV2Client({});
    try {
      const [lb] = (await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers!;
      const make = async (name: string, owner: string) =>
        elb.send(
          new CreateTargetGroupCommand({
            Name: name,
            Protocol: 'TCP',
            Port: 30077,
            VpcId: lb!.VpcId,
            TargetType: 'instance',
            Tags: toAwsTags({ ...ownershipTags(clusterName, svc), [serviceUidTag]: owner }),
          }),
        );
      // A retired group of this Service, and one whose name matches but whose tags say not ours.
      await make(targetGroupName(clusterName, uid, 77, 'TCP', 30077), uid);
      await make(targetGroupName(clusterName, uid, 78, 'TCP', 30078), 'someone-else');
      // The dead run had set the flag before its first listener write.
      await elb.send(
        new AddTagsCommand({
          ResourceArns: [lb!.LoadBalancerArn!],
          Tags: [{ Key: retiringTag, Value: 'true' }],
        }),
      );
      await h.provider.close?.();
      h.calls = new RecordingCalls();
      h.provider = await newProvider(h.calls);
      await h.ensureReady(svc, h.nodes());
      const inv = await readInventory();
      assert.deepEqual(
        inv.targetGroups.filter((tg) => !tg.attached).map((tg) => tg.name),
        [targetGroupName(clusterName, uid, 78, 'TCP', 30078)],
      );
      assert.equal(inv.loadBalancers[0]!.tags[retiringTag], undefined, 'the flag is cleared');
      await elb.send(
        new DeleteTargetGroupCommand({
          TargetGroupArn: (
            await elb.send(
              new DescribeTargetGroupsCommand({
                Names: [targetGroupName(clusterName, uid, 78, 'TCP', 30078)],
              }),
            )
          ).TargetGroups![0]!.TargetGroupArn,
        }),
      );
    } finally {
      elb.destroy();
    }
    // A resync with nothing retiring: no write, and no account-wide listing.
    h.calls.clear();
    await h.ensureReady(svc, h.nodes());
    assert.deepEqual(h.calls.writes(), []);
    assert.equal(h.calls.operations.filter((op) => op === 'DescribeTargetGroups').length, 1);
  });

  it('still replaces a group when the NLB has no room for the retiring tag', async () => {
    // moto refuses AddTags past 10 tags (AWS: 50), which stands in for an NLB that is full.
    const tags = Array.from({ length: 8 }, (_, i) => `k${i}=v`).join(',');
    const svc = newService('web', tweakAnnotations({ [annotation.additionalTags]: tags }));
    await h.ensureReady(svc, h.nodes());
    const changed = structuredClone(svc);
    changed.spec!.ports![0]!.nodePort = 30090;
    h.calls.clear();
    await h.ensureReady(changed, h.nodes());
    assert.ok(h.calls.writes().includes('DeleteTargetGroup'));
  });

  it('finds the listener a CreateListener whose answer was lost made, instead of a second one', async () => {
    const proxy = await startFaultProxy({ target: h.endpoint.url });
    let creates = 0;
    proxy.fault = (action): Fault => {
      if (action !== 'CreateListener') return undefined;
      return ++creates === 1 ? 'lose' : undefined;
    };
    try {
      await h.provider.close?.();
      h.calls = new RecordingCalls();
      h.provider = await newProvider(h.calls, clusterName, { endpoint: proxy.url });
      // The leak check after the test finds one listener per port, or fails.
      await h.ensureReady(twoPorts(), h.nodes());
      assert.deepEqual([proxy.counts.lost, creates], [1, 2], 'one create per port, no repeat');
    } finally {
      await proxy.close();
    }
  });

  it('deletes a second listener on a port, keeping the one that forwards to its target group', async () => {
    const svc = newService('web');
    await h.ensureReady(svc, h.nodes());
    const elb = new ElasticLoadBalancingV2Client({});
    try {
      const [lb] = (await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers!;
      const LoadBalancerArn = lb!.LoadBalancerArn!;
      const [ours] = (await elb.send(new DescribeListenersCommand({ LoadBalancerArn }))).Listeners!;
      const forwardTo = (TargetGroupArn: string) =>
        elb.send(
          new CreateListenerCommand({
            LoadBalancerArn,
            Port: 80,
            Protocol: 'TCP',
            DefaultActions: [{ Type: 'forward', TargetGroupArn }],
          }),
        );
      // Port 80 gets a listener to a group not ours first, then one to kube-lbc's group.
      const [other] = (
        await elb.send(
          new CreateTargetGroupCommand({
            Name: 'someone-elses',
            Protocol: 'TCP',
            Port: 30077,
            VpcId: lb!.VpcId,
            TargetType: 'instance',
          }),
        )
      ).TargetGroups!;
      await elb.send(new DeleteListenerCommand({ ListenerArn: ours!.ListenerArn }));
      await forwardTo(other!.TargetGroupArn!);
      const [kept] = (await forwardTo(forwardsTo(ours!)!)).Listeners!;
      h.calls.clear();
      await h.ensureReady(svc, h.nodes());
      assert.deepEqual(h.calls.writes(), ['DeleteListener']);
      const left = (await elb.send(new DescribeListenersCommand({ LoadBalancerArn }))).Listeners!;
      assert.deepEqual(
        left.map((l) => l.ListenerArn),
        [kept!.ListenerArn],
      );
      await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: other!.TargetGroupArn }));
    } finally {
      elb.destroy();
    }
  });

  it('lists owned NLBs by tag for the garbage collector, and only this cluster’s', async () => {
    const a = newService('a');
    const b = newService('b');
    await h.ensureReady(a, h.nodes());
    await h.ensureReady(b, h.nodes());
    const owned = await h.provider.listLoadBalancers!(h.ctx, clusterName);
    assert.deepEqual(
      owned.map((o) => `${o.namespace}/${o.name} ${o.serviceUID}`).sort(),
      [`default/a ${a.metadata!.uid}`, `default/b ${b.metadata!.uid}`].sort(),
    );
    assert.deepEqual(await h.provider.listLoadBalancers!(h.ctx, 'another-cluster'), []);
  });

  async function deleteUntilDone(svc: V1Service): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await h.provider.ensureLoadBalancerDeleted(h.ctx, clusterName, svc);
        break;
      } catch (err) {
        if (!(err instanceof RetryAfterError) || attempt >= 3) throw err;
      }
    }
    const inv = await readInventory();
    assert.deepEqual(
      [inv.loadBalancers, inv.targetGroups, inv.securityGroups],
      [[], [], [{ name: nodeSecurityGroupName, ingress: [], tags: inv.securityGroups[0]?.tags }]],
      'only the node group is left, with no rule for a deleted NLB',
    );
  }
});
