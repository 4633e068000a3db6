/**
 * Lets the NLBs reach the nodes. Every NLB of the cluster carries the cluster's backend security
 * group (backend-group.ts), and each node security group admits that one group on the NodePort
 * range and kube-proxy's health port: a fixed set of rules, whatever the number of Services
 * (AWS allows 60 rules per group). An NLB with security groups is seen by its targets as those
 * groups, health checks included.
 *
 * A Service port outside that admission (a NodePort outside the default range, a health-check
 * port set by annotation) still gets a rule of its own whose source is the Service's frontend
 * group, so each Service only ever touches rules naming its own group: two Services never write
 * the same rule, and deleting one Service's rules is "revoke everything that references my
 * group". Rules of that kind for ports the backend group now covers (all of them, before the
 * backend group existed) are revoked only once the backend admission is in place.
 */
import {
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  type EC2Client,
  type IpPermission,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import { kubeProxyHealthPort, type DesiredLoadBalancer } from './desired.js';
import { authorizeIngress, revokeIngress } from './ingress-rules.js';
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

/** The NodePort range the backend admission opens: Kubernetes' default. */
export const nodePortRange = { from: 30000, to: 32767 } as const;

/** Every node group's rules with the backend group as source: a constant set. */
export const backendNodeRules: ReadonlySet<Rule> = new Set([
  `tcp|${nodePortRange.from}-${nodePortRange.to}`,
  `udp|${nodePortRange.from}-${nodePortRange.to}`,
  `tcp|${kubeProxyHealthPort}`,
]);

/** The Service's rules the backend admission does not cover: they stay per Service. */
export function frontendNodeRules(desired: DesiredLoadBalancer): Set<Rule> {
  return new Set(
    [...nodeAccessRules(desired)].filter((rule) => !backendNodeRules.has(rule) && !inRange(rule)),
  );
}

function inRange(rule: Rule): boolean {
  const port = Number(rule.split('|')[1]);
  return port >= nodePortRange.from && port <= nodePortRange.to;
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

/** Rules sourced from one group that `rules` no longer has, per node group. */
export type StaleNodeAccess = { groupId: string; rules: Rule[] }[];

/**
 * Makes the rules sourced from `sourceGroupId` (a frontend group, or the backend group) on each
 * node group exactly `rules`: adds the missing ones now and returns the extra ones, for the caller to revoke with revokeStaleNodeAccess
 * once no listener sends traffic to them. Revoking first cut the NLB off a NodePort its listener
 * still used, so a port change that failed or died before the listener moved took the port down.
 */
export async function ensureNodeAccess(
  ec2: EC2Client,
  sourceGroupId: string,
  nodeGroups: readonly SecurityGroup[],
  rules: ReadonlySet<Rule>,
): Promise<StaleNodeAccess> {
  const stale: StaleNodeAccess = [];
  for (const group of nodeGroups) {
    const actual = rulesFrom(group.IpPermissions ?? [], sourceGroupId);
    const missing = [...rules].filter((r) => !actual.has(r));
    const extra = [...actual].filter((r) => !rules.has(r));
    // The backend group's rules are shared: another ensure may have added one since we looked,
    // which authorizeIngress takes as done.
    await authorizeIngress(ec2, group.GroupId!, toPermissions(missing, sourceGroupId));
    if (extra.length > 0) stale.push({ groupId: group.GroupId!, rules: extra });
  }
  return stale;
}

export async function revokeStaleNodeAccess(
  ec2: EC2Client,
  sourceGroupId: string,
  stale: StaleNodeAccess,
): Promise<void> {
  for (const { groupId, rules } of stale) {
    await revokeIngress(ec2, groupId, toPermissions(rules, sourceGroupId));
  }
}

/** Revokes every rule, in any group, whose source is `sourceGroupId`, so it can be deleted. */
export async function revokeNodeAccess(ec2: EC2Client, sourceGroupId: string): Promise<void> {
  const out = await ec2.send(
    new DescribeSecurityGroupsCommand({
      Filters: [{ Name: 'ip-permission.group-id', Values: [sourceGroupId] }],
    }),
  );
  for (const group of out.SecurityGroups ?? []) {
    const ours = [...rulesFrom(group.IpPermissions ?? [], sourceGroupId)];
    await revokeIngress(ec2, group.GroupId!, toPermissions(ours, sourceGroupId));
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
