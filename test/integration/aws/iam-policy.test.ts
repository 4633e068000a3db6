/**
 * deploy/aws/iam-policy.json is derived from what the code does, as the RBAC test derives the
 * Kubernetes role: the provider runs against moto through every flow (create, no-op, changes of
 * every kind, node churn, out-of-band deletion, scheme and subnet-mapping replacement, garbage-collection listing,
 * delete), every SDK command that reaches the gate is recorded, and the policy must grant exactly
 * the IAM actions those commands need: nothing missing, nothing unused. A command the source can
 * send that no flow reached fails the test too, so a new call cannot slip past it untested.
 *
 * Adoption is judged call by call with the resources' tags (iam-evaluation.ts): from
 * cloud-provider-aws iam-policy.json alone must do; from aws-load-balancer-controller, whose
 * resources lack the cluster tag, iam-policy-adopt-albc.json must grant exactly the rest.
 */
import type { CallOptions } from '../../../contract/cloud-calls.js';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import {
  AllocateAddressCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import type { V1Service } from '@kubernetes/client-node';
import { annotation } from '../../../providers/aws/annotations.js';
import { revokeNodeAccess } from '../../../providers/aws/node-access.js';
import { clusterTag } from '../../../providers/aws/tags.js';
import {
  newService,
  tweakAddPorts,
  tweakAnnotations,
  tweakSourceRanges,
} from '../../fixtures/builders.js';
import { adoptFromAnnotation } from '../../../providers/aws/adoption.js';
import { seedAccount } from '../../support/moto.js';
import { readInventory } from './inventory.js';
import { clusterName, newProvider, RecordingCalls, useAwsHarness } from './harness.js';
import {
  allowedBy,
  IamRecordingProxy,
  type CallContext,
  type Statement,
} from './iam-evaluation.js';
import { buildCloudProviderAwsNlb, buildLoadBalancerControllerNlb } from './previous-owners.js';

const iamService = { ec2: 'ec2', elb: 'elasticloadbalancing' } as const;

/** Records every command as the IAM action it needs, failed calls included (they were tried). */
class ActionRecorder extends RecordingCalls {
  readonly actions = new Set<string>();
  override call<T>(
    budget: string,
    operation: string,
    fn: (signal: AbortSignal) => Promise<T>,
    options?: CallOptions<T>,
  ): Promise<T> {
    this.actions.add(`${budget.startsWith('ec2') ? 'ec2' : 'elasticloadbalancing'}:${operation}`);
    return super.call(budget, operation, fn, options);
  }
}

/**
 * Actions a command needs beside its own. Tags given on create are authorised separately:
 * ec2:CreateTags for TagSpecifications, elasticloadbalancing:AddTags for an ELBv2 create's Tags
 * (every create here passes tags).
 */
const implied: Record<string, string[]> = {
  'ec2:CreateSecurityGroup': ['ec2:CreateTags'],
  'elasticloadbalancing:CreateLoadBalancer': ['elasticloadbalancing:AddTags'],
  'elasticloadbalancing:CreateTargetGroup': ['elasticloadbalancing:AddTags'],
  'elasticloadbalancing:CreateListener': ['elasticloadbalancing:AddTags'],
};

async function policy(file = 'deploy/aws/iam-policy.json'): Promise<Statement[]> {
  const text = await readFile(file, 'utf8');
  return JSON.parse(text.replaceAll('CLUSTER_NAME', clusterName)).Statement;
}

/** Every `XxxCommand` the provider's source imports from the two SDK clients, as IAM actions. */
async function commandsInSource(): Promise<Set<string>> {
  const out = new Set<string>();
  const dir = 'providers/aws';
  for (const file of await readdir(dir)) {
    if (!file.endsWith('.ts')) continue;
    const text = await readFile(`${dir}/${file}`, 'utf8');
    for (const m of text.matchAll(/import\s*{([^}]*)}\s*from\s*'@aws-sdk\/client-([a-z0-9-]+)'/g)) {
      const service = m[2] === 'ec2' ? iamService.ec2 : iamService.elb;
      for (const name of m[1]!.matchAll(/\b(\w+)Command\b/g)) out.add(`${service}:${name[1]}`);
    }
  }
  return out;
}

describe('the IAM policy grants exactly what the aws provider calls', function () {
  this.timeout(120_000);
  const h = useAwsHarness();
  let recorder: ActionRecorder;

  beforeEach(async () => {
    await h.provider.close?.();
    recorder = new ActionRecorder();
    h.calls = recorder;
    h.provider = await newProvider(recorder);
  });

  it('records every SDK command over a Service life and its changes, and the policy matches them', async () => {
    const svc = newService(
      'web',
      tweakAddPorts({ name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 }),
      tweakSourceRanges('10.0.0.0/8'),
    );
    await h.ensureReady(svc, h.nodes());
    await h.ensureReady(svc, h.nodes());

    const changed: V1Service = structuredClone(svc);
    changed.metadata!.annotations = {
      [annotation.crossZone]: 'true',
      [annotation.additionalTags]: 'team=edge',
      [annotation.hcInterval]: '10',
      [annotation.ipAddressType]: 'dualstack',
      [annotation.subnets]: 'internal-elb-us-east-1a,internal-elb-us-east-1b',
      [annotation.sslCert]: 'arn:aws:iam::123456789012:server-certificate/web',
      [annotation.sslPorts]: 'https',
      [annotation.proxyProtocol]: '*',
    };
    changed.spec!.loadBalancerSourceRanges = ['192.168.0.0/16'];
    changed.spec!.ports![0]!.nodePort = 30099;
    changed.spec!.ports!.push({ name: 'https', port: 443, protocol: 'TCP', nodePort: 30443 });
    await h.ensureReady(changed, h.nodes());
    const fewer = structuredClone(changed);
    fewer.spec!.ports!.pop();
    delete fewer.metadata!.annotations![annotation.sslCert];
    delete fewer.metadata!.annotations![annotation.sslPorts];
    await h.ensureReady(fewer, h.nodes());

    await h.provider.updateLoadBalancerHosts(h.ctx, clusterName, fewer, h.nodes(1));
    await h.provider.updateLoadBalancerHosts(h.ctx, clusterName, fewer, h.nodes());

    // Its security group deleted out of band (after the node group's rules naming it, which
    // AWS requires and moto does not): made again and handed to the NLB.
    const ec2 = new EC2Client({});
    try {
      // The inventory names groups; the frontend one is the NLB's own (the other is shared).
      const name = (await readInventory()).loadBalancers[0]!.securityGroups.find((g) =>
        g.endsWith('-frontend'),
      );
      const found = await ec2.send(
        new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: [name!] }] }),
      );
      const groupId = found.SecurityGroups?.[0]?.GroupId;
      await revokeNodeAccess(ec2, groupId!);
      await ec2.send(new DeleteSecurityGroupCommand({ GroupId: groupId }));
    } finally {
      ec2.destroy();
    }
    await h.ensureReady(fewer, h.nodes());

    const internal = structuredClone(fewer);
    delete internal.metadata!.annotations![annotation.subnets];
    internal.metadata!.annotations![annotation.scheme] = 'internal';
    await h.ensureReady(internal, h.nodes());

    // Static addresses: back to internet-facing, on two EIPs (a new NLB again).
    const pinned = structuredClone(internal);
    const eips = new EC2Client({});
    try {
      const ids = [];
      for (const _ of h.account.publicSubnets)
        ids.push((await eips.send(new AllocateAddressCommand({ Domain: 'vpc' }))).AllocationId);
      delete pinned.metadata!.annotations![annotation.scheme];
      pinned.metadata!.annotations![annotation.eipAllocations] = ids.join(',');
    } finally {
      eips.destroy();
    }
    await h.ensureReady(pinned, h.nodes());

    assert.equal((await h.provider.listLoadBalancers!(h.ctx, clusterName)).length, 1);
    // Handed back and taken back again (the same NLB), then deleted.
    await h.provider.releaseLoadBalancer!(h.ctx, clusterName, pinned);
    await h.ensureReady(pinned, h.nodes());
    for (let attempt = 1; ; attempt++) {
      try {
        await h.provider.ensureLoadBalancerDeleted(h.ctx, clusterName, pinned);
        break;
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
    h.live.clear();

    const inSource = await commandsInSource();
    assert.deepEqual(
      [...inSource].filter((a) => !recorder.actions.has(a)).sort(),
      [],
      'commands in providers/aws that no flow here sent: add a flow that reaches them',
    );
    const needed = new Set([...recorder.actions].flatMap((a) => [a, ...(implied[a] ?? [])]));
    const statements = await policy();
    const granted = new Set(
      statements.filter((s) => s.Effect === 'Allow').flatMap((s) => s.Action),
    );
    assert.deepEqual(
      [...needed].filter((a) => !granted.has(a)).sort(),
      [],
      'called but not granted',
    );
    assert.deepEqual(
      [...granted].filter((a) => !needed.has(a)).sort(),
      [],
      'granted but never called',
    );
  });

  /**
   * The writes of adopting `service`'s NLB (two syncs), then of what follows the commit (a port
   * dropped, the NLB handed back), as AWS would judge them.
   */
  async function adoptionCalls(service: V1Service) {
    const proxy = new IamRecordingProxy(h.endpoint.url);
    let adopting: CallContext[];
    try {
      await h.provider.close?.();
      h.provider = await newProvider(recorder, clusterName, { endpoint: await proxy.start() });
      await h.ensureReady(service, h.nodes());
      await h.ensureReady(service, h.nodes());
      adopting = proxy.calls.splice(0);
      const fewer = structuredClone(service);
      fewer.spec!.ports!.pop();
      await h.ensureReady(fewer, h.nodes());
      await h.provider.releaseLoadBalancer!(h.ctx, clusterName, fewer);
    } finally {
      await proxy.stop();
    }
    assert.ok(recorder.actions.has('elasticloadbalancing:ModifyListener'), 'it adopted');
    assert.ok(recorder.actions.has('elasticloadbalancing:DeleteListener'), 'it dropped a port');
    // Handed back, the NLB is the previous owner's again: not kube-lbc's to account for.
    await h.endpoint.reset();
    h.account = await seedAccount(clusterName);
    h.live.clear();
    return { adopting, committed: proxy.calls };
  }
  const shown = (c: CallContext) => `${c.action} on ${JSON.stringify(c.resourceTags)}`;
  const adoptingFrom = (owner: string, annotations: Record<string, string> = {}) =>
    newService(
      'web',
      tweakAddPorts({ name: 'https', port: 443, protocol: 'TCP', nodePort: 30443 }),
      tweakSourceRanges('192.0.2.0/24'),
      tweakAnnotations({ [adoptFromAnnotation]: owner, ...annotations }),
    );

  for (const mode of [undefined, 'Managed'] as const) {
    it(`grants in iam-policy.json what adopting from cloud-provider-aws needs (security groups: ${mode ?? 'none'})`, async () => {
      const service = adoptingFrom('cloud-provider-aws');
      const options = mode ? { nlbSecurityGroupMode: mode } : {};
      await buildCloudProviderAwsNlb(clusterName, h.account, service, options);
      const { adopting, committed } = await adoptionCalls(service);
      const main = await policy();
      const denied = (calls: CallContext[]) =>
        calls.filter((c) => allowedBy(main, c).length === 0).map(shown);
      assert.deepEqual(denied([...adopting, ...committed]), []);
    });
  }

  it('grants, with iam-policy-adopt-albc.json, what adopting from aws-load-balancer-controller needs beyond iam-policy.json', async () => {
    const service = adoptingFrom('aws-load-balancer-controller', {
      'service.beta.kubernetes.io/aws-load-balancer-type': 'external',
      'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internet-facing',
      // Changed with the move: an attribute kube-lbc sets before its tags are on the NLB.
      [annotation.crossZone]: 'true',
    });
    await buildLoadBalancerControllerNlb(clusterName, h.account, service);
    const { adopting: calls, committed } = await adoptionCalls(service);
    const main = await policy();
    const albc = await policy('deploy/aws/iam-policy-adopt-albc.json');
    // After the commit the adoption policy is detached (docs/migration.md): not needed then.
    assert.deepEqual(
      committed.filter((c) => allowedBy(main, c).length === 0).map(shown),
      [],
      'denied after the commit without the adoption policy',
    );
    assert.deepEqual(
      calls.filter((c) => allowedBy([...main, ...albc], c).length === 0).map(shown),
      [],
      'denied even with the adoption policy',
    );
    const beyondMain = calls.filter((c) => allowedBy(main, c).length === 0);
    assert.deepEqual(
      [...new Set(beyondMain.map((c) => c.action))].sort(),
      [...new Set(albc.flatMap((s) => s.Action))].sort(),
      'the adoption policy grants exactly the actions iam-policy.json refuses here',
    );
    for (const s of albc) {
      const keys = Object.values(s.Condition ?? {}).flatMap((c) => Object.keys(c));
      assert.ok(keys.includes('aws:ResourceTag/elbv2.k8s.aws/cluster'), s.Sid);
    }
  });

  it('has no wildcard action, and conditions every write on the cluster tag', async () => {
    const tag = clusterTag(clusterName);
    for (const s of await policy()) {
      assert.equal(s.Effect, 'Allow', s.Sid);
      for (const action of s.Action) assert.doesNotMatch(action, /\*/, `${s.Sid}: ${action}`);
      const reads = s.Action.every((a) => /:Describe/.test(a));
      const conditionKeys = Object.values(s.Condition ?? {}).flatMap((c) => Object.keys(c));
      if (reads) continue;
      if (s.Resource === 'arn:*:ec2:*:*:vpc/*') {
        // CreateSecurityGroup also authorises against the VPC, which carries no request tags;
        // the group itself is conditioned in its own statement.
        assert.deepEqual(s.Action, ['ec2:CreateSecurityGroup'], s.Sid);
        continue;
      }
      assert.ok(
        conditionKeys.some((k) => k === `aws:RequestTag/${tag}` || k === `aws:ResourceTag/${tag}`),
        `${s.Sid} grants writes without a condition on ${tag}`,
      );
    }
  });
});
