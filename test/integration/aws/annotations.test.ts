/**
 * The NLB annotations beyond the basics, against moto: proxy protocol and target group
 * attributes, target node labels, subnet mappings (EIPs, private addresses), access logs and
 * the user's frontend security groups.
 * Each is followed when it changes, costs no write on a resync that changes nothing, and is
 * refused before any AWS call when its value is bad. Where moto is looser than AWS the test
 * says so, and checks what kube-lbc sends rather than what moto accepts.
 */
import assert from 'node:assert/strict';
import {
  AllocateAddressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateVpcCommand,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import type { CreateLoadBalancerCommandInput } from '@aws-sdk/client-elastic-load-balancing-v2';
import { annotation } from '../../../providers/aws/annotations.js';
import { accessLogEmitInterval } from '../../../providers/aws/attributes.js';
import { InvalidServiceError } from '../../../contract/errors.js';
import type { AwsProvider } from '../../../providers/aws/provider.js';
import { subnetMappingsTag } from '../../../providers/aws/subnet-mappings.js';
import { backendGroupName, securityGroupName } from '../../../providers/aws/names.js';
import {
  newService,
  tweakAnnotations,
  tweakNodeLabels,
  tweakSourceRanges,
} from '../../fixtures/builders.js';
import { nodeSecurityGroupName } from '../../support/moto.js';
import { clusterName, useAwsHarness } from './harness.js';
import { readInventory } from './inventory.js';

const field = (key: string) => `metadata.annotations[${key}]`;

describe('aws NLB annotations against moto', function () {
  this.timeout(30_000);
  const h = useAwsHarness();

  /** Refused by validateService naming `key`, and ensure then makes no AWS call at all. */
  async function assertRefused(annotations: Record<string, string>, key: string, message: RegExp) {
    const svc = newService('bad', tweakAnnotations(annotations));
    const errors = h.provider.validateService(svc);
    assert.ok(
      errors.some((e) => e.field === field(key) && message.test(e.message)),
      `expected ${key} ~ ${message}, got ${JSON.stringify(errors)}`,
    );
    h.calls.clear();
    await assert.rejects(
      h.provider.ensureLoadBalancer(h.ctx, clusterName, svc, h.nodes()),
      InvalidServiceError,
    );
    assert.deepEqual(h.calls.operations, []);
  }

  describe('proxy-protocol', () => {
    it('enables proxy protocol v2 on every target group with "*", and turns it off when removed', async () => {
      const svc = newService('web', tweakAnnotations({ [annotation.proxyProtocol]: '*' }));
      svc.spec!.ports!.push({ name: 'https', port: 443, protocol: 'TCP', nodePort: 30443 });
      await h.ensureReady(svc, h.nodes());
      let groups = (await readInventory()).targetGroups;
      assert.deepEqual(
        groups.map((tg) => tg.attributes['proxy_protocol_v2.enabled']),
        ['true', 'true'],
      );
      h.calls.clear();
      await h.ensureReady(svc, h.nodes());
      assert.deepEqual(h.calls.writes(), [], 'a no-op resync writes nothing');

      const plain = structuredClone(svc);
      delete plain.metadata!.annotations![annotation.proxyProtocol];
      h.calls.clear();
      await h.ensureReady(plain, h.nodes());
      assert.deepEqual(h.calls.writes(), [
        'ModifyTargetGroupAttributes',
        'ModifyTargetGroupAttributes',
      ]);
      groups = (await readInventory()).targetGroups;
      assert.deepEqual(
        groups.map((tg) => tg.attributes['proxy_protocol_v2.enabled']),
        ['false', 'false'],
      );
    });

    it('writes nothing for a Service that never asked for proxy protocol', async () => {
      const svc = newService('web');
      await h.ensureReady(svc, h.nodes());
      assert.ok(!h.calls.writes().includes('ModifyTargetGroupAttributes'));
    });

    it('refuses any value but "*", naming the annotation', async () => {
      await assertRefused({ [annotation.proxyProtocol]: 'true' }, annotation.proxyProtocol, /"\*"/);
    });
  });

  describe('target-group-attributes', () => {
    it('sets deregistration delay, source-IP stickiness and client IP preservation, restoring defaults when removed', async () => {
      const svc = newService(
        'web',
        tweakAnnotations({
          [annotation.targetGroupAttributes]:
            'deregistration_delay.timeout_seconds=30,stickiness.enabled=true,stickiness.type=source_ip,preserve_client_ip.enabled=false',
        }),
      );
      await h.ensureReady(svc, h.nodes());
      const pick = async () => {
        const a = (await readInventory()).targetGroups[0]!.attributes;
        return [
          a['deregistration_delay.timeout_seconds'],
          a['stickiness.enabled'],
          a['stickiness.type'],
          a['preserve_client_ip.enabled'],
        ];
      };
      assert.deepEqual(await pick(), ['30', 'true', 'source_ip', 'false']);
      h.calls.clear();
      await h.ensureReady(svc, h.nodes());
      assert.deepEqual(h.calls.writes(), [], 'a no-op resync writes nothing');

      const changed = structuredClone(svc);
      changed.metadata!.annotations![annotation.targetGroupAttributes] =
        'deregistration_delay.timeout_seconds=0';
      h.calls.clear();
      await h.ensureReady(changed, h.nodes());
      // One call for the three keys that go back to AWS's defaults and the one that changes.
      assert.deepEqual(h.calls.writes(), ['ModifyTargetGroupAttributes']);
      assert.deepEqual(await pick(), ['0', 'false', 'source_ip', 'true']);
    });

    it('refuses an attribute AWS would refuse for an NLB target group, naming the annotation', async () => {
      // moto accepts preserve_client_ip.enabled=false on a UDP group and any unknown key; AWS
      // refuses both, so kube-lbc does before calling.
      await assertRefused(
        { [annotation.targetGroupAttributes]: 'stickiness.type=lb_cookie' },
        annotation.targetGroupAttributes,
        /source_ip/,
      );
      await assertRefused(
        { [annotation.targetGroupAttributes]: 'deregistration_delay.timeout_seconds=9999' },
        annotation.targetGroupAttributes,
        /0 to 3600/,
      );
    });
  });

  describe('target-node-labels', () => {
    /** Nodes 1 and 3 are in pool edge; node 2 is not; node 4 is in edge but tier=spare. */
    const labelled = () => {
      const [n1, n2, n3, n4] = h.nodes(4);
      tweakNodeLabels({ pool: 'edge', tier: 'front' })(n1!);
      tweakNodeLabels({ pool: 'batch', tier: 'front' })(n2!);
      tweakNodeLabels({ pool: 'edge', tier: 'front' })(n3!);
      tweakNodeLabels({ pool: 'edge', tier: 'spare' })(n4!);
      return [n1!, n2!, n3!, n4!];
    };
    const targets = async () =>
      (await readInventory()).targetGroups[0]!.targets.map((t) => t.split(':')[0]).sort();

    it('registers only the nodes carrying every label, and follows joining nodes', async () => {
      const [n1, n2, n3, n4] = labelled();
      const svc = newService(
        'web',
        tweakAnnotations({ [annotation.targetNodeLabels]: 'pool=edge, tier=front' }),
      );
      await h.ensureReady(svc, [n1, n2, n4]);
      const id = (i: number) => h.account.instances[i]!.id;
      assert.deepEqual(await targets(), [id(0)].sort());

      h.calls.clear();
      await h.provider.updateLoadBalancerHosts(h.ctx, clusterName, svc, [n1, n2, n3, n4]);
      assert.deepEqual(h.calls.writes(), ['RegisterTargets'], 'node 3 only');
      assert.deepEqual(await targets(), [id(0), id(2)].sort());
      h.calls.clear();
      await h.ensureReady(svc, [n1, n2, n3, n4]);
      assert.deepEqual(h.calls.writes(), [], 'a no-op resync writes nothing');

      // A bare key selects on the label alone: node 4 (tier=spare) joins, node 2 (pool=batch) not.
      const anyTier = structuredClone(svc);
      anyTier.metadata!.annotations![annotation.targetNodeLabels] = 'pool=edge,tier';
      await h.ensureReady(anyTier, [n1, n2, n3, n4]);
      assert.deepEqual(await targets(), [id(0), id(2), id(3)].sort());
    });

    it('refuses a selector that is not labels, naming the annotation', async () => {
      await assertRefused(
        { [annotation.targetNodeLabels]: 'pool=edge,bad key=x' },
        annotation.targetNodeLabels,
        /label key/,
      );
      await assertRefused(
        { [annotation.targetNodeLabels]: 'pool=not/a/value' },
        annotation.targetNodeLabels,
        /label value/,
      );
      await assertRefused(
        { [annotation.targetNodeLabels]: ' , ' },
        annotation.targetNodeLabels,
        /no label/,
      );
    });
  });

  describe('eip-allocations and private-ipv4-addresses', () => {
    /** CreateLoadBalancer's input as sent: moto keeps no subnet mapping beyond the subnet. */
    let created: CreateLoadBalancerCommandInput[];
    beforeEach(() => {
      created = [];
      (h.provider as AwsProvider).env.clients.elb.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'CreateLoadBalancerCommand')
            created.push(structuredClone(args.input as CreateLoadBalancerCommandInput));
          return next(args);
        },
        { step: 'initialize' },
      );
    });
    const allocate = async (n: number) => {
      const ec2 = new EC2Client({});
      try {
        const ids: string[] = [];
        for (let i = 0; i < n; i++)
          ids.push((await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }))).AllocationId!);
        return ids;
      } finally {
        ec2.destroy();
      }
    };
    const subnetsSorted = () => [...h.account.publicSubnets].sort();

    it('makes the NLB on the EIPs, one per subnet; a change makes a new NLB, a removal keeps it', async () => {
      const [a, b, c] = await allocate(3);
      const svc = newService(
        'web',
        tweakAnnotations({ [annotation.eipAllocations]: `${a}, ${b}` }),
      );
      await h.ensureReady(svc, h.nodes());
      const [s1, s2] = subnetsSorted();
      assert.deepEqual(created.at(-1)!.SubnetMappings, [
        { SubnetId: s1, AllocationId: a },
        { SubnetId: s2, AllocationId: b },
      ]);
      assert.equal(created.at(-1)!.Subnets, undefined);
      assert.ok((await readInventory()).loadBalancers[0]!.tags[subnetMappingsTag]);
      h.calls.clear();
      await h.ensureReady(svc, h.nodes());
      assert.deepEqual(h.calls.writes(), [], 'a no-op resync writes nothing');

      const moved = structuredClone(svc);
      moved.metadata!.annotations![annotation.eipAllocations] = `${a},${c}`;
      h.calls.clear();
      await h.ensureReady(moved, h.nodes());
      assert.ok(h.calls.writes().includes('DeleteLoadBalancer'), h.calls.writes().join());
      assert.deepEqual(created.at(-1)!.SubnetMappings, [
        { SubnetId: s1, AllocationId: a },
        { SubnetId: s2, AllocationId: c },
      ]);

      // AWS keeps an NLB's addresses: without the annotation they are simply not asked for.
      const unpinned = structuredClone(moved);
      delete unpinned.metadata!.annotations![annotation.eipAllocations];
      h.calls.clear();
      await h.ensureReady(unpinned, h.nodes());
      assert.deepEqual(h.calls.writes(), []);
    });

    it('gives an internal NLB its private addresses, each in the subnet whose CIDR holds it', async () => {
      const svc = newService(
        'web',
        tweakAnnotations({
          [annotation.scheme]: 'internal',
          // Listed zone b first: matched by CIDR, not by position.
          [annotation.privateIpv4Addresses]: '10.0.12.20,10.0.11.10',
        }),
      );
      await h.ensureReady(svc, h.nodes());
      const byCidr = Object.fromEntries(
        created.at(-1)!.SubnetMappings!.map((m) => [m.SubnetId, m.PrivateIPv4Address]),
      );
      const [za, zb] = h.account.privateSubnets;
      assert.deepEqual(byCidr, { [za!]: '10.0.11.10', [zb!]: '10.0.12.20' });
    });

    it('finishes a replacement that died right after deleting the old NLB', async () => {
      const [a, b, c] = await allocate(3);
      const svc = newService('web', tweakAnnotations({ [annotation.eipAllocations]: `${a},${b}` }));
      await h.ensureReady(svc, h.nodes());
      const moved = structuredClone(svc);
      moved.metadata!.annotations![annotation.eipAllocations] = `${c},${b}`;
      h.calls.crashAfter = { operation: 'DeleteLoadBalancer', nth: 1 };
      await assert.rejects(
        h.provider.ensureLoadBalancer(h.ctx, clusterName, moved, h.nodes()),
        /simulated crash/,
      );
      await h.ensureReady(moved, h.nodes());
      assert.equal(created.at(-1)!.SubnetMappings![0]!.AllocationId, c);
      // The harness then checks one NLB, its groups and targets, nothing left over.
    });

    it('refuses addresses on the wrong scheme or malformed, naming the annotation, before any call', async () => {
      await assertRefused(
        {
          [annotation.scheme]: 'internal',
          [annotation.eipAllocations]: 'eipalloc-0123,eipalloc-0456',
        },
        annotation.eipAllocations,
        /internet-facing NLBs only/,
      );
      await assertRefused(
        { [annotation.privateIpv4Addresses]: '10.0.1.5,10.0.2.5' },
        annotation.privateIpv4Addresses,
        /internal NLBs only/,
      );
      await assertRefused(
        { [annotation.eipAllocations]: 'eipalloc-0123,1.2.3.4' },
        annotation.eipAllocations,
        /not an EIP allocation ID/,
      );
      await assertRefused(
        {
          [annotation.subnets]: 'elb-us-east-1a',
          [annotation.eipAllocations]: 'eipalloc-0123,eipalloc-0456',
        },
        annotation.eipAllocations,
        /2 addresses for 1 subnets/,
      );
    });

    it('refuses, after reads only, a count that does not match the discovered subnets, an unknown EIP, or an address outside every subnet', async () => {
      const invalid = async (annotations: Record<string, string>, message: RegExp) => {
        const svc = newService('web', tweakAnnotations(annotations));
        h.calls.clear();
        const err = await h.provider.ensureLoadBalancer(h.ctx, clusterName, svc, h.nodes()).then(
          () => assert.fail('refused'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof InvalidServiceError, String(err));
        assert.match(err.message, message);
        assert.deepEqual(h.calls.writes(), [], 'AWS untouched');
      };
      const [a] = await allocate(1);
      await invalid({ [annotation.eipAllocations]: a! }, /1 addresses for 2 subnets/);
      // moto would make the NLB with these; AWS refuses both.
      await invalid(
        { [annotation.eipAllocations]: `${a},eipalloc-00000000000000bad` },
        /not every allocation exists/,
      );
      await invalid(
        {
          [annotation.scheme]: 'internal',
          [annotation.privateIpv4Addresses]: '10.0.11.10,10.9.0.1',
        },
        /exactly one of the addresses/,
      );
    });

    it('keeps the NLB when the new addresses of a change turn out bad', async () => {
      const [a, b] = await allocate(2);
      const svc = newService('web', tweakAnnotations({ [annotation.eipAllocations]: `${a},${b}` }));
      await h.ensureReady(svc, h.nodes());
      const before = await readInventory();
      const broken = structuredClone(svc);
      broken.metadata!.annotations![annotation.eipAllocations] = `${a},eipalloc-00000000000000bad`;
      h.calls.clear();
      await assert.rejects(
        h.provider.ensureLoadBalancer(h.ctx, clusterName, broken, h.nodes()),
        InvalidServiceError,
      );
      assert.deepEqual(h.calls.writes(), []);
      assert.deepEqual(await readInventory(), before);
    });
  });
  describe('security-groups and extra-security-groups', () => {
    const groupsOf = async () => (await readInventory()).loadBalancers[0]!.securityGroups;
    const group = async (name: string) =>
      (await readInventory()).securityGroups.find((g) => g.name === name);
    /** A user's group with a rule of its own, which kube-lbc must leave as it is. */
    const userGroup = async (name: string) => {
      const id = await h.makeUserGroup(name);
      const ec2 = new EC2Client({});
      try {
        await ec2.send(
          new AuthorizeSecurityGroupIngressCommand({
            GroupId: id,
            IpPermissions: [
              {
                IpProtocol: 'tcp',
                FromPort: 80,
                ToPort: 80,
                IpRanges: [{ CidrIp: '192.0.2.0/24' }],
              },
            ],
          }),
        );
      } finally {
        ec2.destroy();
      }
      return id;
    };
    const backend = backendGroupName(clusterName);

    it('gives the NLB the listed groups, by ID or name, in place of its own, and the backend group', async () => {
      const a = await userGroup('user-a');
      await userGroup('user-b');
      const svc = newService(
        'web',
        tweakAnnotations({ [annotation.securityGroups]: `${a}, user-b` }),
      );
      await h.ensureReady(svc, h.nodes());
      assert.deepEqual(await groupsOf(), [backend, 'user-a', 'user-b'].sort());
      assert.equal(await group(securityGroupName(clusterName, svc)), undefined, 'no own group');
      assert.deepEqual((await group('user-a'))!.ingress, ['tcp/80 from 192.0.2.0/24']);
      assert.deepEqual((await group('user-b'))!.ingress, ['tcp/80 from 192.0.2.0/24']);
      assert.equal(h.events.length, 0, 'no unsupported-annotation warning');
      h.calls.clear();
      await h.ensureReady(svc, h.nodes());
      assert.deepEqual(h.calls.writes(), [], 'a no-op resync writes nothing');

      await h.provider.ensureLoadBalancerDeleted(h.ctx, clusterName, svc);
      h.live.delete(svc.metadata!.uid!);
      assert.deepEqual((await group('user-a'))!.ingress, ['tcp/80 from 192.0.2.0/24']);
      assert.ok(await group('user-b'), "the delete leaves the user's groups");
    });

    it('puts extra groups beside its own, which still enforces the source ranges, and follows changes', async () => {
      const extra = await userGroup('user-extra');
      const svc = newService(
        'web',
        tweakAnnotations({ [annotation.extraSecurityGroups]: 'user-extra' }),
        tweakSourceRanges('10.1.0.0/16'),
      );
      const own = securityGroupName(clusterName, svc);
      await h.ensureReady(svc, h.nodes());
      assert.deepEqual(await groupsOf(), [backend, own, 'user-extra'].sort());
      assert.deepEqual((await group(own))!.ingress, ['tcp/80 from 10.1.0.0/16']);
      h.calls.clear();
      await h.ensureReady(svc, h.nodes());
      assert.deepEqual(h.calls.writes(), [], 'a no-op resync writes nothing');

      const plain = structuredClone(svc);
      delete plain.metadata!.annotations![annotation.extraSecurityGroups];
      h.calls.clear();
      await h.ensureReady(plain, h.nodes());
      assert.deepEqual(h.calls.writes(), ['SetSecurityGroups']);
      assert.deepEqual(await groupsOf(), [backend, own].sort());

      const again = structuredClone(plain);
      again.metadata!.annotations![annotation.extraSecurityGroups] = extra;
      h.calls.clear();
      await h.ensureReady(again, h.nodes());
      assert.deepEqual(h.calls.writes(), ['SetSecurityGroups']);
      assert.deepEqual(await groupsOf(), [backend, own, 'user-extra'].sort());
      assert.deepEqual((await group('user-extra'))!.ingress, ['tcp/80 from 192.0.2.0/24']);
    });

    it('moves an NLB to security-groups and deletes its own group, and back', async () => {
      await userGroup('user-a');
      const svc = newService('web');
      const own = securityGroupName(clusterName, svc);
      await h.ensureReady(svc, h.nodes());
      const replaced = structuredClone(svc);
      replaced.metadata!.annotations = { [annotation.securityGroups]: 'user-a' };
      h.calls.clear();
      await h.ensureReady(replaced, h.nodes());
      assert.deepEqual(h.calls.writes(), ['SetSecurityGroups', 'DeleteSecurityGroup']);
      assert.deepEqual(await groupsOf(), [backend, 'user-a'].sort());
      assert.equal(await group(own), undefined);
      h.calls.clear();
      await h.ensureReady(replaced, h.nodes());
      assert.deepEqual(h.calls.writes(), [], 'a no-op resync writes nothing');

      h.calls.clear();
      await h.ensureReady(svc, h.nodes());
      assert.deepEqual(h.calls.writes(), [
        'CreateSecurityGroup',
        'AuthorizeSecurityGroupIngress',
        'SetSecurityGroups',
      ]);
      assert.deepEqual(await groupsOf(), [backend, own].sort());
      assert.ok(await group('user-a'));
    });

    it("leaves the node group's rules that name a user's group alone on a node change", async () => {
      const a = await userGroup('user-a');
      const ec2 = new EC2Client({});
      const ssh = {
        IpProtocol: 'tcp',
        FromPort: 22,
        ToPort: 22,
        UserIdGroupPairs: [{ GroupId: a, Description: 'the user: bastion' }],
      };
      const nodeRules = async () =>
        (await group(nodeSecurityGroupName))!.ingress.filter((r) => r.endsWith('from user-a'));
      try {
        await ec2.send(
          new AuthorizeSecurityGroupIngressCommand({
            GroupId: h.account.nodeSecurityGroupId,
            IpPermissions: [ssh],
          }),
        );
        const svc = newService('web', tweakAnnotations({ [annotation.securityGroups]: a }));
        await h.ensureReady(svc, h.nodes());
        h.calls.clear();
        await h.provider.updateLoadBalancerHosts(h.ctx, clusterName, svc, h.nodes(2));
        h.live.set(svc.metadata!.uid!, { service: svc, nodes: h.nodes(2) });
        assert.ok(
          !h.calls.writes().includes('RevokeSecurityGroupIngress'),
          h.calls.writes().join(),
        );
        assert.deepEqual(await nodeRules(), ['tcp/22 from user-a']);
      } finally {
        await ec2.send(
          new RevokeSecurityGroupIngressCommand({
            GroupId: h.account.nodeSecurityGroupId,
            IpPermissions: [ssh],
          }),
        );
        ec2.destroy();
      }
    });

    it('refuses a malformed list, and security-groups with source ranges, naming the fields, before any call', async () => {
      await assertRefused(
        { [annotation.securityGroups]: 'sg-0123abcd,' },
        annotation.securityGroups,
        /empty entry/,
      );
      await assertRefused(
        { [annotation.extraSecurityGroups]: 'sg-xyz' },
        annotation.extraSecurityGroups,
        /"sg-xyz": not a security group ID/,
      );
      const svc = newService(
        'bad',
        tweakAnnotations({ [annotation.securityGroups]: 'user-a' }),
        tweakSourceRanges('10.0.0.0/8'),
      );
      const errors = h.provider.validateService(svc);
      assert.ok(
        errors.some(
          (e) =>
            e.field === field(annotation.securityGroups) &&
            e.message.includes('spec.loadBalancerSourceRanges'),
        ),
        JSON.stringify(errors),
      );
      h.calls.clear();
      await assert.rejects(
        h.provider.ensureLoadBalancer(h.ctx, clusterName, svc, h.nodes()),
        InvalidServiceError,
      );
      assert.deepEqual(h.calls.operations, []);
    });

    it('refuses a port the nodes do not admit without a group of its own, before any call', async () => {
      const svc = newService('bad', tweakAnnotations({ [annotation.securityGroups]: 'user-a' }));
      svc.spec!.ports![0]!.nodePort = 8080;
      h.calls.clear();
      const err = await h.provider.ensureLoadBalancer(h.ctx, clusterName, svc, h.nodes()).then(
        () => assert.fail('refused'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof InvalidServiceError, String(err));
      assert.equal(err.fieldErrors[0]!.field, field(annotation.securityGroups));
      assert.match(err.message, /tcp 8080/);
      assert.deepEqual(h.calls.operations, []);
    });

    it('refuses, after reads only, a group that does not exist or is in another VPC', async () => {
      const ec2 = new EC2Client({});
      let elsewhere: string;
      try {
        const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.99.0.0/16' }));
        elsewhere = await h.makeUserGroup('user-elsewhere', vpc.Vpc!.VpcId);
      } finally {
        ec2.destroy();
      }
      await userGroup('user-a');
      const invalid = async (svc: ReturnType<typeof newService>, key: string, message: RegExp) => {
        h.calls.clear();
        const err = await h.provider.ensureLoadBalancer(h.ctx, clusterName, svc, h.nodes()).then(
          () => assert.fail('refused'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof InvalidServiceError, String(err));
        assert.ok(
          err.fieldErrors.some((e) => e.field === field(key) && message.test(e.message)),
          err.message,
        );
        assert.deepEqual(h.calls.writes(), [], 'AWS untouched');
      };
      const fresh = (annotations: Record<string, string>) =>
        newService('web', tweakAnnotations(annotations));
      await invalid(
        fresh({ [annotation.securityGroups]: 'user-a,sg-0000000000000dead' }),
        annotation.securityGroups,
        /"sg-0000000000000dead": no such security group in the NLB's VPC/,
      );
      await invalid(
        fresh({ [annotation.extraSecurityGroups]: elsewhere }),
        annotation.extraSecurityGroups,
        new RegExp(`"${elsewhere}": no such security group`),
      );
      await invalid(
        fresh({ [annotation.extraSecurityGroups]: 'user-elsewhere' }),
        annotation.extraSecurityGroups,
        /"user-elsewhere": no such/,
      );
      assert.deepEqual((await readInventory()).loadBalancers, []);

      // On an existing NLB too: it is left as it was.
      const svc = fresh({});
      await h.ensureReady(svc, h.nodes());
      const before = await readInventory();
      const broken = structuredClone(svc);
      broken.metadata!.annotations![annotation.securityGroups] = 'user-missing';
      await invalid(broken, annotation.securityGroups, /"user-missing": no such/);
      assert.deepEqual(await readInventory(), before);
    });
  });

  describe('access logs', () => {
    const logs = async () => {
      const lb = (await readInventory()).loadBalancers[0]!;
      return [lb.accessLogs.enabled, lb.accessLogs.bucket, lb.accessLogs.prefix];
    };

    it('turns on access logs to the bucket and prefix, follows changes, and turns them off', async () => {
      const svc = newService(
        'web',
        tweakAnnotations({
          [annotation.accessLogEnabled]: 'true',
          [annotation.accessLogBucket]: 'team-logs',
          [annotation.accessLogPrefix]: 'web',
        }),
      );
      // moto takes a bucket that does not exist; AWS checks it exists and lets ELB write to it.
      await h.ensureReady(svc, h.nodes());
      assert.deepEqual(await logs(), ['true', 'team-logs', 'web']);
      h.calls.clear();
      await h.ensureReady(svc, h.nodes());
      assert.deepEqual(h.calls.writes(), [], 'a no-op resync writes nothing');

      const moved = structuredClone(svc);
      moved.metadata!.annotations![annotation.accessLogPrefix] = 'web/v2';
      h.calls.clear();
      await h.ensureReady(moved, h.nodes());
      assert.deepEqual(h.calls.writes(), ['ModifyLoadBalancerAttributes']);
      assert.deepEqual(await logs(), ['true', 'team-logs', 'web/v2']);

      const off = structuredClone(moved);
      delete off.metadata!.annotations![annotation.accessLogEnabled];
      await h.ensureReady(off, h.nodes());
      // ELBv2 refuses an empty bucket, so the bucket and prefix stay, unused.
      assert.deepEqual(await logs(), ['false', 'team-logs', 'web/v2']);
    });

    it('refuses logs without a bucket, a bad bucket name or an AWSLogs prefix, naming the annotation', async () => {
      await assertRefused(
        { [annotation.accessLogEnabled]: 'true' },
        annotation.accessLogBucket,
        /is needed/,
      );
      await assertRefused(
        { [annotation.accessLogEnabled]: 'yes', [annotation.accessLogBucket]: 'b-1' },
        annotation.accessLogEnabled,
        /"true" or "false"/,
      );
      await assertRefused(
        { [annotation.accessLogEnabled]: 'true', [annotation.accessLogBucket]: 'Team_Logs' },
        annotation.accessLogBucket,
        /S3 bucket name/,
      );
      await assertRefused(
        {
          [annotation.accessLogEnabled]: 'true',
          [annotation.accessLogBucket]: 'team-logs',
          [annotation.accessLogPrefix]: 'x/AWSLogs',
        },
        annotation.accessLogPrefix,
        /AWSLogs/,
      );
    });

    it('warns that access-log-emit-interval applies to Classic Load Balancers only', async () => {
      const svc = newService('web', tweakAnnotations({ [accessLogEmitInterval]: '5' }));
      await h.ensureReady(svc, h.nodes());
      const warning = h.events.find((e) => e.reason === 'UnsupportedAnnotation');
      assert.match(
        warning?.message ?? '',
        /emit-interval: it applies to Classic Load Balancers only/,
      );
    });
  });
});
