/**
 * spec.loadBalancerSourceRanges, enforced by a security group on the NLB itself (NLBs take
 * security groups since August 2023), one per Service, owned and tagged like the NLB.
 *
 * Why this and not cloud-provider-aws's way (client CIDRs added to the nodes' security group on
 * each NodePort): that edits a group shared by every Service and every node, so two Services can
 * fight over one rule and a crash can strand rules nobody owns. A group per Service has one owner
 * and is deleted with its NLB. It also filters at the NLB, before traffic reaches any node.
 * The nodes still have to admit the NLB: node-access.ts adds, to the nodes' security group, rules
 * whose source is this group, so each Service owns its rules there too.
 * An NLB can only get security groups at creation (after that, SetSecurityGroups changes them
 * but cannot remove the last), so every NLB is created with at least the backend group. With
 * security-groups the user's groups take this group's place; extra-security-groups go beside it;
 * kube-lbc only reads those (resolveUserGroups), never edits or deletes them.
 */
import {
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  type EC2Client,
  type IpPermission,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import { InvalidServiceError } from '../../contract/errors.js';
import { annotation, type AwsServiceSettings } from './annotations.js';
import { hasCloudCode, isNotFound } from './errors.js';
import { authorizeIngress, revokeIngress } from './ingress-rules.js';
import type { DesiredListener } from './desired.js';
import { fromAwsTags, isReservedTagKey, toAwsTags } from './tags.js';

export interface FrontendGroupSpec {
  readonly name: string;
  readonly vpcId: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly sourceRanges: readonly string[];
  readonly listeners: readonly DesiredListener[];
}

/** One ingress rule, flattened: `tcp|80|10.0.0.0/8`. */
type RuleKey = string;

export async function findSecurityGroup(
  ec2: EC2Client,
  name: string,
  vpcId?: string,
): Promise<SecurityGroup | undefined> {
  const out = await ec2.send(
    new DescribeSecurityGroupsCommand({
      Filters: [
        { Name: 'group-name', Values: [name] },
        ...(vpcId ? [{ Name: 'vpc-id', Values: [vpcId] }] : []),
      ],
    }),
  );
  return out.SecurityGroups?.[0];
}

/** Creates the group if missing and makes its ingress rules exactly the desired ones. */
export async function ensureFrontendSecurityGroup(
  ec2: EC2Client,
  spec: FrontendGroupSpec,
): Promise<string> {
  const found = await findSecurityGroup(ec2, spec.name, spec.vpcId);
  const group = found ?? (await create(ec2, spec));
  if (found) await retag(ec2, found, spec.tags);
  const desired = desiredRules(spec);
  const actual = actualRules(group.IpPermissions ?? []);
  const missing = [...desired].filter((k) => !actual.has(k));
  const extra = [...actual].filter((k) => !desired.has(k));
  await authorizeIngress(ec2, group.GroupId!, toPermissions(missing));
  await revokeIngress(ec2, group.GroupId!, toPermissions(extra));
  return group.GroupId!;
}

/**
 * Puts back the ownership tags a hand-back removed (release.ts) when the Service is managed
 * again. Only those: additional-resource-tags stay as the group was created, as before.
 */
async function retag(
  ec2: EC2Client,
  group: SecurityGroup,
  tags: Readonly<Record<string, string>>,
): Promise<void> {
  const have = fromAwsTags(group.Tags);
  const missing = Object.entries(tags).filter(([k, v]) => isReservedTagKey(k) && have[k] !== v);
  if (missing.length === 0) return;
  await ec2.send(
    new CreateTagsCommand({
      Resources: [group.GroupId!],
      Tags: missing.map(([Key, Value]) => ({ Key, Value })),
    }),
  );
}

async function create(ec2: EC2Client, spec: FrontendGroupSpec): Promise<SecurityGroup> {
  try {
    const out = await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: spec.name,
        VpcId: spec.vpcId,
        Description: `kube-lbc: clients allowed to reach ${spec.tags['kubernetes.io/service-name'] ?? spec.name}`,
        TagSpecifications: [{ ResourceType: 'security-group', Tags: toAwsTags(spec.tags) }],
      }),
    );
    return { GroupId: out.GroupId, GroupName: spec.name, IpPermissions: [] };
  } catch (err) {
    // Made by an earlier attempt whose answer we never saw: use it.
    if (!hasCloudCode(err, 'InvalidGroup.Duplicate')) throw err;
    const found = await findSecurityGroup(ec2, spec.name, spec.vpcId);
    if (!found) throw err;
    return found;
  }
}

/** Deletes the group; absent is success. AWS refuses while the NLB's interfaces still hold it. */
export async function deleteSecurityGroup(
  ec2: EC2Client,
  groupId: string,
): Promise<'deleted' | 'in-use'> {
  try {
    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: groupId }));
    return 'deleted';
  } catch (err) {
    if (isNotFound(err)) return 'deleted';
    if (hasCloudCode(err, 'DependencyViolation')) return 'in-use';
    throw err;
  }
}

function desiredRules(spec: FrontendGroupSpec): Set<RuleKey> {
  const rules = new Set<RuleKey>();
  for (const l of spec.listeners) {
    const protocols = l.protocol === 'TCP_UDP' ? ['tcp', 'udp'] : [l.protocol.toLowerCase()];
    for (const p of protocols)
      for (const cidr of spec.sourceRanges) rules.add(`${p}|${l.port}|${cidr}`);
  }
  return rules;
}

function actualRules(permissions: readonly IpPermission[]): Set<RuleKey> {
  const rules = new Set<RuleKey>();
  for (const p of permissions) {
    // Rules we never write (port ranges, group references) show up as extras and get revoked.
    const port = p.FromPort === p.ToPort ? String(p.FromPort) : `${p.FromPort}-${p.ToPort}`;
    for (const r of p.IpRanges ?? []) rules.add(`${p.IpProtocol}|${port}|${r.CidrIp}`);
    for (const r of p.Ipv6Ranges ?? []) rules.add(`${p.IpProtocol}|${port}|${r.CidrIpv6}`);
    for (const g of p.UserIdGroupPairs ?? [])
      rules.add(`${p.IpProtocol}|${port}|group:${g.GroupId}`);
  }
  return rules;
}

function toPermissions(keys: readonly RuleKey[]): IpPermission[] {
  return keys.map((key) => {
    const [protocol, port, source] = key.split('|') as [string, string, string];
    const [from, to = from] = port.split('-');
    const permission: IpPermission = {
      IpProtocol: protocol,
      FromPort: Number(from),
      ToPort: Number(to),
    };
    if (source.startsWith('group:')) permission.UserIdGroupPairs = [{ GroupId: source.slice(6) }];
    else if (source.includes(':')) permission.Ipv6Ranges = [{ CidrIpv6: source }];
    else permission.IpRanges = [{ CidrIp: source }];
    return permission;
  });
}

/** The user's frontend groups, resolved to IDs; `own` false when they replace kube-lbc's group. */
export interface UserGroups {
  readonly own: boolean;
  readonly ids: readonly string[];
}

/**
 * security-groups and extra-security-groups, each entry an ID or a name, resolved to IDs in
 * `vpcId` with DescribeSecurityGroups (reads only): any that is not a group of that VPC is refused
 * with InvalidServiceError naming its annotation, before anything is written.
 */
export async function resolveUserGroups(
  ec2: EC2Client,
  settings: Readonly<AwsServiceSettings>,
  vpcId: string,
): Promise<UserGroups> {
  const user = settings.userSecurityGroups;
  if (!user) return { own: true, ids: [] };
  const entries = [...user.replace, ...user.extra];
  const ids = entries.filter((g) => g.startsWith('sg-'));
  const names = entries.filter((g) => !g.startsWith('sg-'));
  const found: SecurityGroup[] = [];
  for (const [filter, values] of [
    ['group-id', ids],
    ['group-name', names],
  ] as const) {
    if (values.length === 0) continue;
    let NextToken: string | undefined;
    do {
      const out = await ec2.send(
        new DescribeSecurityGroupsCommand({
          Filters: [
            { Name: 'vpc-id', Values: [vpcId] },
            { Name: filter, Values: [...values] },
          ],
          NextToken,
        }),
      );
      found.push(...(out.SecurityGroups ?? []));
      NextToken = out.NextToken;
    } while (NextToken);
  }
  const idOf = (entry: string) =>
    found.find((g) => g.GroupId === entry || g.GroupName === entry)?.GroupId;
  const problems: { field: string; message: string }[] = [];
  for (const [key, list] of [
    [annotation.securityGroups, user.replace],
    [annotation.extraSecurityGroups, user.extra],
  ] as const) {
    const missing = list.filter((g) => idOf(g) === undefined);
    if (missing.length > 0)
      problems.push({
        field: `metadata.annotations[${key}]`,
        message: `${missing.map((g) => `"${g}"`).join(', ')}: no such security group in the NLB's VPC ${vpcId}`,
      });
  }
  if (problems.length > 0) throw new InvalidServiceError(problems);
  return {
    own: user.replace.length === 0,
    ids: [...new Set(entries.map((g) => idOf(g)!))].sort(),
  };
}
