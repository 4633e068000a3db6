/**
 * Lets the NLB reach the nodes: on each node's security group, ingress from the NLB's own
 * security group on the Service's NodePorts and health-check port. An NLB with a security group
 * is seen by its targets as that group, health checks included.
 *
 * The node groups are shared by every Service, so each Service only ever touches rules whose
 * source is its own NLB security group: two Services never write the same rule, and deleting
 * one Service's rules is "revoke everything that references my group".
 */
import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  RevokeSecurityGroupIngressCommand,
  type EC2Client,
  type IpPermission,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import type { DesiredLoadBalancer } from './desired.js';
import { clusterTag } from './tags.js';

/** `tcp|30080`: one protocol and port the NLB must reach on every node. */
type Rule = string;

/** The NodePorts of every target group, and health-check ports that are not the traffic port. */
export function nodeAccessRules(desired: DesiredLoadBalancer): Set<Rule> {
  const rules = new Set<Rule>();
  for (const tg of desired.targetGroups) {
    const protocols = tg.protocol === 'TCP_UDP' ? ['tcp', 'udp'] : [tg.protocol.toLowerCase()];
    for (const p of protocols) rules.add(`${p}|${tg.port}`);
    // Health checks are TCP, HTTP or HTTPS: always TCP underneath.
    const hcPort = tg.healthCheck.port === 'traffic-port' ? tg.port : Number(tg.healthCheck.port);
    rules.add(`tcp|${hcPort}`);
  }
  return rules;
}

/** What EC2 says about the nodes' instances. */
export interface InstanceFacts {
  /** Pending or running: the only instances RegisterTargets accepts. */
  readonly live: string[];
  /** Unknown to EC2, or stopping, stopped, terminated: never registered. */
  readonly gone: string[];
  /** The node security groups, one per instance that has a clear one. */
  readonly groups: SecurityGroup[];
  /** Live instances without a clear node group: their owner opens the NodePorts some other way. */
  readonly undecided: string[];
}

/**
 * Describes the instances by filter (a missing ID then drops out instead of failing the call, as
 * `InstanceIds` would with InvalidInstanceID.NotFound), and picks each one's node group: the
 * group carrying the cluster tag, or its only group when none does, as cloud-provider-aws does.
 */
export async function inspectInstances(
  ec2: EC2Client,
  clusterName: string,
  instanceIds: readonly string[],
): Promise<InstanceFacts> {
  const groupsOf = new Map<string, string[]>();
  // A filter takes at most 200 values.
  for (let i = 0; i < instanceIds.length; i += 200) {
    const Filters = [{ Name: 'instance-id', Values: instanceIds.slice(i, i + 200) }];
    let NextToken: string | undefined;
    do {
      const page = await ec2.send(new DescribeInstancesCommand({ Filters, NextToken }));
      for (const instance of (page.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
        const state = instance.State?.Name;
        if (state !== 'pending' && state !== 'running') continue;
        groupsOf.set(
          instance.InstanceId!,
          (instance.SecurityGroups ?? []).map((g) => g.GroupId!),
        );
      }
      NextToken = page.NextToken;
    } while (NextToken);
  }
  const live = instanceIds.filter((id) => groupsOf.has(id));
  const gone = instanceIds.filter((id) => !groupsOf.has(id));
  const allIds = [...new Set([...groupsOf.values()].flat())];
  const described =
    allIds.length === 0
      ? []
      : ((await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: allIds }))).SecurityGroups ??
        []);
  const byId = new Map(described.map((g) => [g.GroupId!, g]));
  const chosen = new Map<string, SecurityGroup>();
  const undecided: string[] = [];
  for (const [instance, ids] of groupsOf) {
    const groups = ids.map((id) => byId.get(id)).filter((g): g is SecurityGroup => g !== undefined);
    const tagged = groups.filter((g) => g.Tags?.some((t) => t.Key === clusterTag(clusterName)));
    const pick =
      tagged.length === 1
        ? tagged[0]
        : tagged.length === 0 && groups.length === 1
          ? groups[0]
          : undefined;
    if (pick) chosen.set(pick.GroupId!, pick);
    else undecided.push(instance);
  }
  return { live, gone, groups: [...chosen.values()], undecided };
}

/** Rules sourced from our NLB group that `rules` no longer has, per node group. */
export type StaleNodeAccess = { groupId: string; rules: Rule[] }[];

/**
 * Makes the rules sourced from `frontendGroupId` on each node group exactly `rules`: adds the
 * missing ones now and returns the extra ones, for the caller to revoke with revokeStaleNodeAccess
 * once no listener sends traffic to them. Revoking first cut the NLB off a NodePort its listener
 * still used, so a port change that failed or died before the listener moved took the port down.
 */
export async function ensureNodeAccess(
  ec2: EC2Client,
  frontendGroupId: string,
  nodeGroups: readonly SecurityGroup[],
  rules: ReadonlySet<Rule>,
): Promise<StaleNodeAccess> {
  const stale: StaleNodeAccess = [];
  for (const group of nodeGroups) {
    const actual = rulesFrom(group.IpPermissions ?? [], frontendGroupId);
    const missing = [...rules].filter((r) => !actual.has(r));
    const extra = [...actual].filter((r) => !rules.has(r));
    if (missing.length > 0) {
      await ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: group.GroupId,
          IpPermissions: toPermissions(missing, frontendGroupId),
        }),
      );
    }
    if (extra.length > 0) stale.push({ groupId: group.GroupId!, rules: extra });
  }
  return stale;
}

export async function revokeStaleNodeAccess(
  ec2: EC2Client,
  frontendGroupId: string,
  stale: StaleNodeAccess,
): Promise<void> {
  for (const { groupId, rules } of stale) {
    await ec2.send(
      new RevokeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpPermissions: toPermissions(rules, frontendGroupId),
      }),
    );
  }
}

/** Revokes every rule, in any group, whose source is `frontendGroupId`, so it can be deleted. */
export async function revokeNodeAccess(ec2: EC2Client, frontendGroupId: string): Promise<void> {
  const out = await ec2.send(
    new DescribeSecurityGroupsCommand({
      Filters: [{ Name: 'ip-permission.group-id', Values: [frontendGroupId] }],
    }),
  );
  for (const group of out.SecurityGroups ?? []) {
    const ours = [...rulesFrom(group.IpPermissions ?? [], frontendGroupId)];
    if (ours.length === 0) continue;
    await ec2.send(
      new RevokeSecurityGroupIngressCommand({
        GroupId: group.GroupId,
        IpPermissions: toPermissions(ours, frontendGroupId),
      }),
    );
  }
}

function rulesFrom(permissions: readonly IpPermission[], source: string): Set<Rule> {
  const rules = new Set<Rule>();
  for (const p of permissions) {
    if (!p.UserIdGroupPairs?.some((g) => g.GroupId === source)) continue;
    // We only write single ports; a range someone else wrote from our group is revoked whole.
    rules.add(
      p.FromPort === p.ToPort
        ? `${p.IpProtocol}|${p.FromPort}`
        : `${p.IpProtocol}|${p.FromPort}-${p.ToPort}`,
    );
  }
  return rules;
}

function toPermissions(rules: readonly Rule[], source: string): IpPermission[] {
  return rules.map((rule) => {
    const [protocol, ports] = rule.split('|') as [string, string];
    const [from, to = from] = ports.split('-');
    return {
      IpProtocol: protocol,
      FromPort: Number(from),
      ToPort: Number(to),
      UserIdGroupPairs: [{ GroupId: source, Description: 'kube-lbc: NLB to NodePort' }],
    };
  });
}
