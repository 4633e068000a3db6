/**
 * Adoption on moto, per previous owner: the NLB built exactly as that controller builds it is
 * taken over in place (same ARN, same DNS name), every port answers at every step on the way,
 * and the end state is what a fresh kube-lbc install of the Service makes, apart from the name.
 * Then the hand-back: kube-lbc's marks go, the previous owner's come back, nothing is deleted.
 */
import assert from 'node:assert/strict';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { V1Node, V1Service } from '@kubernetes/client-node';
import { InvalidServiceError } from '../../../contract/errors.js';
import {
  adoptFromAnnotation,
  adoptedFromTag,
  previousManagedGroupName,
} from '../../../providers/aws/adoption.js';
import { ownershipTags } from '../../../providers/aws/tags.js';
import { nodeSecurityGroupName, seedAccount } from '../../support/moto.js';
import {
  newService,
  tweakAddPorts,
  tweakAnnotations,
  tweakSourceRanges,
} from '../../fixtures/builders.js';
import { clusterName, newProvider, RecordingCalls, useAwsHarness } from './harness.js';
import { readInventory, type Inventory } from './inventory.js';
import {
  buildCloudProviderAwsNlb,
  buildLoadBalancerControllerNlb,
  type PreviousNlb,
} from './previous-owners.js';

type Owner = 'cloud-provider-aws' | 'aws-load-balancer-controller';
const builders: Record<Owner, typeof buildCloudProviderAwsNlb> = {
  'cloud-provider-aws': buildCloudProviderAwsNlb,
  'aws-load-balancer-controller': buildLoadBalancerControllerNlb,
};

/** aws-load-balancer-controller's Services say so (and ask for internet-facing: not its default). */
const albcAnnotations = {
  'service.beta.kubernetes.io/aws-load-balancer-type': 'external',
  'service.beta.kubernetes.io/aws-load-balancer-nlb-target-type': 'instance',
  'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internet-facing',
};

function twoPortService(owner?: Owner): V1Service {
  return newService(
    'web',
    tweakAddPorts({ name: 'https', port: 443, protocol: 'TCP', nodePort: 30443 }),
    tweakAnnotations(owner ? { [adoptFromAnnotation]: owner } : {}),
    tweakAnnotations(owner === 'aws-load-balancer-controller' ? albcAnnotations : {}),
  );
}

/** Every port of the Service has a listener forwarding to a group with registered targets. */
async function assertEveryPortServed(
  elb: ElasticLoadBalancingV2Client,
  arn: string,
  ports: number[],
  when: string,
): Promise<void> {
  const listeners =
    (await elb.send(new DescribeListenersCommand({ LoadBalancerArn: arn }))).Listeners ?? [];
  for (const port of ports) {
    const l = listeners.find((x) => x.Port === port);
    assert.ok(l, `port ${port} has a listener ${when}`);
    // aws-load-balancer-controller forwards by ForwardConfig alone, kube-lbc by TargetGroupArn.
    const forward = l.DefaultActions?.find((a) => a.Type === 'forward');
    const tg = forward?.TargetGroupArn ?? forward?.ForwardConfig?.TargetGroups?.[0]?.TargetGroupArn;
    assert.ok(tg, `port ${port} forwards ${when}`);
    const health = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tg }));
    assert.ok(
      (health.TargetHealthDescriptions ?? []).length > 0,
      `port ${port}'s group has targets ${when}`,
    );
  }
}

/** The inventory with what differs between two installs of one Service by construction gone. */
function comparable(inv: Inventory) {
  return {
    loadBalancers: inv.loadBalancers.map(({ name: _n, subnets: _s, tags, ...rest }) => ({
      ...rest,
      tags: Object.fromEntries(Object.entries(tags).filter(([k]) => k !== adoptedFromTag)),
    })),
    // Instance IDs differ between the two accounts: the count and port of the targets stay.
    targetGroups: inv.targetGroups.map((tg) => ({
      ...tg,
      targets: tg.targets.map((t) => t.replace(/^i-[0-9a-f]+/, 'i-*')),
    })),
    securityGroups: inv.securityGroups,
  };
}

describe('aws provider: adopting an NLB in place', function () {
  this.timeout(60_000);
  const h = useAwsHarness();
  let elb: ElasticLoadBalancingV2Client;
  beforeEach(() => {
    elb = new ElasticLoadBalancingV2Client({});
  });
  afterEach(() => elb.destroy());

  /** A fresh kube-lbc install of `service` in a reset account; the harness's leak check follows. */
  async function freshInstall(service: V1Service): Promise<Inventory> {
    await h.provider.close?.();
    await h.endpoint.reset();
    h.account = await seedAccount(clusterName);
    h.calls = new RecordingCalls();
    h.provider = await newProvider(h.calls);
    const plain = structuredClone(service);
    delete plain.metadata!.annotations![adoptFromAnnotation];
    await h.ensureReady(plain, h.nodes());
    return readInventory();
  }

  for (const owner of Object.keys(builders) as Owner[]) {
    describe(`from ${owner}`, () => {
      let service: V1Service;
      let nodes: V1Node[];
      let before: PreviousNlb;
      beforeEach(async () => {
        service = twoPortService(owner);
        nodes = h.nodes();
        before = await builders[owner](clusterName, h.account, service);
      });

      it('keeps the ARN and DNS name, every port served at every step, ending as a fresh install', async () => {
        const ports = service.spec!.ports!.map((p) => p.port);
        let polls = 0;
        h.calls.afterCall = async (operation) => {
          if (/^Describe/.test(operation)) return;
          polls++;
          await assertEveryPortServed(elb, before.arn, ports, `after ${operation}`);
        };
        const status = await h.ensureReady(service, nodes);
        h.calls.afterCall = undefined;
        if (owner === 'cloud-provider-aws') {
          assert.ok(!h.calls.operations.includes('SetSecurityGroups'), 'AWS would refuse it');
        }
        assert.ok(polls > 5, `polled after each of ${polls} writes`);
        assert.deepEqual(status.ingress, [{ hostname: before.dnsName }]);
        const lbs = (await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? [];
        assert.deepEqual(
          lbs.map((lb) => [lb.LoadBalancerArn, lb.DNSName, lb.LoadBalancerName]),
          [[before.arn, before.dnsName, before.name]],
        );
        assert.ok(h.events.some((e) => e.reason === 'Adopted'));
        if (owner === 'aws-load-balancer-controller') {
          // Served as an NLB of instance targets; the target-type annotation is not served.
          const warned = h.events.filter((e) => e.reason === 'UnsupportedAnnotation');
          assert.match(warned[0]?.message ?? '', /nlb-target-type/);
        }
        const adopted = await readInventory();
        assert.equal(adopted.loadBalancers[0]!.tags[adoptedFromTag], owner);
        // Its listeners carry kube-lbc's tags alone, as listeners kube-lbc made would.
        const listenerArns = (
          (await elb.send(new DescribeListenersCommand({ LoadBalancerArn: before.arn })))
            .Listeners ?? []
        ).map((l) => l.ListenerArn!);
        const listenerTags = await elb.send(
          new DescribeTagsCommand({ ResourceArns: listenerArns }),
        );
        for (const d of listenerTags.TagDescriptions ?? []) {
          const tags = Object.fromEntries((d.Tags ?? []).map((t) => [t.Key!, t.Value!]));
          assert.deepEqual(tags, ownershipTags(clusterName, service), d.ResourceArn);
        }

        // Found again without the opt-in, by another process: nothing left to write.
        const plain = structuredClone(service);
        delete plain.metadata!.annotations![adoptFromAnnotation];
        h.calls.clear();
        await h.provider.close?.();
        h.provider = await newProvider(h.calls);
        assert.deepEqual(await h.ensureReady(plain, nodes), status);
        assert.deepEqual(h.calls.writes(), []);
        assert.deepEqual(await h.provider.getLoadBalancer(h.ctx, clusterName, plain), status);
        assert.deepEqual(
          (await h.provider.listLoadBalancers!(h.ctx, clusterName)).map((o) => o.serviceUID),
          [service.metadata!.uid],
        );

        const fresh = await freshInstall(service);
        if (owner !== 'cloud-provider-aws') {
          assert.deepEqual(comparable(adopted), comparable(fresh));
          return;
        }
        // Its NLBs have no security groups, and AWS adds none to such an NLB (moto would): the
        // NLB stays without, cloud-provider-aws's node rules stay its way in, with a Warning.
        assert.ok(h.events.some((e) => e.reason === 'AdoptedWithoutSecurityGroups'));
        const [a, f] = [comparable(adopted), comparable(fresh)];
        assert.deepEqual(a.loadBalancers[0]!.securityGroups, []);
        const withoutGroups = (lbs: typeof a.loadBalancers) =>
          lbs.map(({ securityGroups: _g, ...rest }) => rest);
        assert.deepEqual(withoutGroups(a.loadBalancers), withoutGroups(f.loadBalancers));
        assert.deepEqual(a.targetGroups, f.targetGroups);
        // Its client rules cover the health checks (no health rule then), and path MTU.
        const nodeRules = a.securityGroups.find((g) => g.name === nodeSecurityGroupName)!.ingress;
        for (const rule of ['tcp/30080', 'tcp/30443', 'icmp/3-4']) {
          assert.ok(nodeRules.includes(`${rule} from 0.0.0.0/0`), rule);
        }
      });

      it('finishes an adoption a crash interrupted after any write, never duplicating', async () => {
        const baseline = new RecordingCalls();
        const probe = await newProvider(baseline);
        // Count the writes of a whole adoption on a copy of the state: build, adopt, reset.
        for (let attempt = 0; attempt < 3; attempt++) {
          try {
            await probe.ensureLoadBalancer(h.ctx, clusterName, service, nodes);
            break;
          } catch {
            /* provisioning */
          }
        }
        await probe.close?.();
        const total = baseline.writes().length;
        assert.ok(total > 5);
        for (let n = 1; n < total; n++) {
          await h.endpoint.reset();
          h.account = await seedAccount(clusterName);
          nodes = h.nodes();
          before = await builders[owner](clusterName, h.account, service);
          h.calls.crashAfterWrite = n;
          await h.provider.ensureLoadBalancer(h.ctx, clusterName, service, nodes).catch(() => {});
          h.calls.crashAfterWrite = undefined;
          const status = await h.ensureReady(service, nodes);
          assert.deepEqual(status.ingress, [{ hostname: before.dnsName }], `crash after ${n}`);
          const lbs = (await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? [];
          assert.deepEqual(
            lbs.map((lb) => lb.LoadBalancerArn),
            [before.arn],
            `one NLB after crash ${n}`,
          );
          const inv = await readInventory();
          assert.equal(inv.loadBalancers[0]!.tags[adoptedFromTag], owner, `committed, ${n}`);
          assert.equal(inv.targetGroups.length, 2, `only kube-lbc's groups after crash ${n}`);
        }
        await freshInstall(service);
      });

      it('hands the NLB back: previous tags restored, kube-lbc forgets it, nothing deleted', async () => {
        await h.ensureReady(service, nodes);
        const adopted = await readInventory();
        h.calls.clear();
        await h.provider.releaseLoadBalancer!(h.ctx, clusterName, service);
        assert.ok(
          h.calls.writes().every((op) => op === 'AddTags' || /Tags$/.test(op)),
          `only tag writes: ${h.calls.writes().join(', ')}`,
        );
        const released = await readInventory();
        const lbTags = released.loadBalancers[0]!.tags;
        assert.ok(!Object.keys(lbTags).some((k) => k.startsWith('kube-lbc.io/')));
        if (owner === 'aws-load-balancer-controller') {
          assert.equal(lbTags['service.k8s.aws/stack'], 'default/web');
          assert.equal(lbTags['service.k8s.aws/resource'], 'LoadBalancer');
          assert.equal(lbTags['elbv2.k8s.aws/cluster'], clusterName);
        } else {
          assert.equal(lbTags[`kubernetes.io/cluster/${clusterName}`], 'owned');
          assert.equal(lbTags['kubernetes.io/service-name'], 'default/web');
        }
        for (const tg of released.targetGroups) {
          assert.ok(!Object.keys(tg.tags).some((k) => k.startsWith('kube-lbc.io/')), tg.name);
        }
        assert.deepEqual(
          released.loadBalancers.map((l) => l.listeners),
          adopted.loadBalancers.map((l) => l.listeners),
        );
        assert.deepEqual(await h.provider.listLoadBalancers!(h.ctx, clusterName), []);
        h.calls.clear();
        await h.provider.releaseLoadBalancer!(h.ctx, clusterName, service);
        assert.deepEqual(h.calls.writes(), [], 'a second release writes nothing');
        // A delete now finds nothing of kube-lbc's to delete.
        const plain = structuredClone(service);
        delete plain.metadata!.annotations![adoptFromAnnotation];
        await h.provider.ensureLoadBalancerDeleted(h.ctx, clusterName, plain);
        const after = await readInventory();
        assert.equal(after.loadBalancers.length, 1);
        assert.equal(after.targetGroups.length, 2);
        await freshInstall(service);
      });
    });
  }

  it("hands kube-lbc's own NLB back and takes it back in place", async () => {
    const service = twoPortService();
    const status = await h.ensureReady(service, h.nodes());
    const [arn] = ((await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? []).map(
      (lb) => lb.LoadBalancerArn,
    );
    await h.provider.releaseLoadBalancer!(h.ctx, clusterName, service);
    assert.deepEqual(await h.provider.listLoadBalancers!(h.ctx, clusterName), []);
    const released = await readInventory();
    for (const r of [
      ...released.loadBalancers,
      ...released.targetGroups,
      ...released.securityGroups,
    ]) {
      assert.equal(r.tags['kube-lbc.io/service-uid'], undefined, 'no service-uid tag left');
    }
    // A delete (a clean-up of the Service) leaves what was handed back.
    h.calls.clear();
    await h.provider.ensureLoadBalancerDeleted(h.ctx, clusterName, service);
    assert.ok(!h.calls.writes().some((op) => /^Delete|^Revoke/.test(op)), h.calls.writes().join());
    // Managed again: the same NLB, its tags back, nothing made anew.
    h.calls.clear();
    assert.deepEqual(await h.ensureReady(service, h.nodes()), status);
    assert.ok(!h.calls.writes().some((op) => /^Create(?!Tags)/.test(op)), h.calls.writes().join());
    const lbs = (await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? [];
    assert.deepEqual(
      lbs.map((lb) => lb.LoadBalancerArn),
      [arn],
    );
    assert.equal(
      (await h.provider.listLoadBalancers!(h.ctx, clusterName)).length,
      1,
      'listed again',
    );
  });

  it("revokes cloud-provider-aws's node rules for an NLB with a group, path MTU once unshared", async () => {
    // Its NLBSecurityGroupMode Managed: the NLB holds a group of its own, so it can take
    // kube-lbc's, and the node rules for it (client, health, path MTU) can go.
    const service = twoPortService('cloud-provider-aws');
    tweakSourceRanges('192.0.2.0/24', '198.51.100.0/24')(service);
    // Another Service of cloud-provider-aws's, staying with it, shares one client CIDR.
    const other = newService(
      'api',
      tweakSourceRanges('198.51.100.0/24'),
      tweakAddPorts({ name: 'grpc', port: 9090, protocol: 'TCP', nodePort: 30990 }),
    );
    other.spec!.ports!.shift();
    // Its NLB name keeps 31 of the UID's 32 hex digits: the fake UIDs differ only in the last.
    other.metadata!.uid = '7e57ab1e-0000-4000-8000-000000000001';
    const theirs = await buildCloudProviderAwsNlb(clusterName, h.account, other);
    const before = await buildCloudProviderAwsNlb(clusterName, h.account, service, {
      nlbSecurityGroupMode: 'Managed',
    });
    const rulesOfNodes = async () => {
      const ec2 = new EC2Client({});
      try {
        const out = await ec2.send(
          new DescribeSecurityGroupsCommand({ GroupIds: [h.account.nodeSecurityGroupId] }),
        );
        return out
          .SecurityGroups![0]!.IpPermissions!.flatMap((p) =>
            (p.IpRanges ?? []).map(
              (r) => `${p.IpProtocol}/${p.FromPort} ${r.CidrIp} ${r.Description}`,
            ),
          )
          .sort();
      } finally {
        ec2.destroy();
      }
    };
    const mtu = 'kubernetes.io/rule/nlb/mtu';
    assert.deepEqual(
      (await rulesOfNodes()).filter((r) => r.startsWith('icmp/')),
      [`icmp/3 192.0.2.0/24 ${mtu}`, `icmp/3 198.51.100.0/24 ${mtu}`],
    );
    const status = await h.ensureReady(service, h.nodes());
    assert.deepEqual(status.ingress, [{ hostname: before.dnsName }]);
    assert.ok(h.calls.operations.includes('SetSecurityGroups'));
    const clientOf = (name: string) => `kubernetes.io/rule/nlb/client=${name}`;
    assert.deepEqual(
      await rulesOfNodes(),
      [
        `icmp/3 198.51.100.0/24 ${mtu}`,
        `tcp/30990 198.51.100.0/24 ${clientOf(theirs.name)}`,
        `tcp/30990 10.0.1.0/24 kubernetes.io/rule/nlb/health=${theirs.name}`,
        `tcp/30990 10.0.2.0/24 kubernetes.io/rule/nlb/health=${theirs.name}`,
      ].sort(),
      "only the other NLB's rules, and the path-MTU rule its client CIDR needs",
    );
    // Its managed group: off the NLB, which holds kube-lbc's groups alone, and left (kube-lbc's
    // policy deletes only its own groups).
    const inv = await readInventory();
    const adopted = inv.loadBalancers.find((l) => l.name === before.name)!;
    const managed = previousManagedGroupName(clusterName, service);
    assert.ok(!adopted.securityGroups.includes(managed));
    assert.ok(inv.securityGroups.some((g) => g.name === managed));
    await freshInstall(service);
  });

  it("adopts every Service's NLB with the cloud-config's adoptFrom", async () => {
    await h.provider.close?.();
    h.provider = await newProvider(h.calls, clusterName, { adoptFrom: 'cloud-provider-aws' });
    const service = twoPortService();
    const before = await buildCloudProviderAwsNlb(clusterName, h.account, service);
    const status = await h.ensureReady(service, h.nodes());
    assert.deepEqual(status.ingress, [{ hostname: before.dnsName }]);
    assert.equal((await readInventory()).loadBalancers.length, 1);
    await freshInstall(service);
  });

  it('never touches a previous owner NLB without the opt-in', async () => {
    const service = twoPortService();
    const before = await buildCloudProviderAwsNlb(clusterName, h.account, service);
    const snapshot = await readInventory();
    const status = await h.ensureReady(service, h.nodes());
    assert.notEqual(status.ingress[0]!.hostname, before.dnsName);
    const after = await readInventory();
    const theirs = (inv: Inventory) => inv.loadBalancers.find((l) => l.name === before.name);
    assert.deepEqual(theirs(after), theirs(snapshot));
    const tags = await elb.send(new DescribeTagsCommand({ ResourceArns: before.targetGroupArns }));
    for (const d of tags.TagDescriptions ?? []) {
      assert.ok(!d.Tags?.some((t) => t.Key!.startsWith('kube-lbc.io/')));
    }
    await h.endpoint.reset();
    h.account = await seedAccount(clusterName);
    h.live.clear();
  });

  it("costs a normal create three reads more (the previous owners' names), a sync none", async () => {
    // Every attempt, answered or not: a lookup that misses fails with LoadBalancerNotFound.
    const sent: string[] = [];
    class Counting extends RecordingCalls {
      override call<T>(...args: Parameters<RecordingCalls['call']>): Promise<T> {
        sent.push(args[1]);
        return super.call(...(args as [string, string, () => Promise<T>]));
      }
    }
    await h.provider.close?.();
    h.calls = new Counting();
    h.provider = await newProvider(h.calls);
    const service = twoPortService();
    await h.ensureReady(service, h.nodes());
    const count = () => sent.splice(0).filter((op) => op === 'DescribeLoadBalancers').length;
    const create = count();
    await h.ensureReady(service, h.nodes());
    const sync = count();
    // Create: kube-lbc's name and the three previous names miss; the provisioning re-check then
    // finds kube-lbc's name at once. A sync: one lookup, as before adoption existed.
    assert.deepEqual({ create, sync }, { create: 5, sync: 1 });
  });

  it('refuses an unknown previous owner, naming the annotation, before any call', () => {
    const service = newService('web', tweakAnnotations({ [adoptFromAnnotation]: 'nginx' }));
    const errors = h.provider.validateService(service);
    assert.deepEqual(
      errors.map((e) => e.field),
      [`metadata.annotations[${adoptFromAnnotation}]`],
    );
    return assert.rejects(
      h.provider.ensureLoadBalancer(h.ctx, clusterName, service, h.nodes()),
      InvalidServiceError,
    );
  });
});
