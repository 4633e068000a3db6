/**
 * Taking over, in place, an NLB that cloud-provider-aws or aws-load-balancer-controller built
 * for a Service: the same NLB (ARN and DNS name), kube-lbc's target groups and rules behind it.
 *
 * Opt-in only (the Service's `kube-lbc.io/adopt-from` annotation or the cloud-config's
 * `adoptFrom`): without it an NLB kube-lbc did not make is never touched. The names and tags
 * below are the ones each project derives for a Service (read from their source), so the NLB is
 * found from the Service alone, after a crash or a restart, never from memory.
 *
 * The commit point is kube-lbc's ownership tags on the NLB (with `kube-lbc.io/adopted-from`).
 * Before it, the NLB is found through the opt-in and the previous owner's tags; after it, through
 * the previous owner's name and kube-lbc's service-uid tag, with or without the opt-in.
 */
import { createHash } from 'node:crypto';
import {
  AddTagsCommand,
  DeleteTargetGroupCommand,
  DescribeLoadBalancersCommand,
  RemoveTagsCommand,
  type ElasticLoadBalancingV2Client,
  type LoadBalancer,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  DescribeSecurityGroupsCommand,
  type EC2Client,
  type IpPermission,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import type { V1Service } from '@kubernetes/client-node';
import type { FieldError } from '../../contract/provider.js';
import { isNotFound } from './errors.js';
import { revokeIngress } from './ingress-rules.js';
import { describeListeners, forwardTargets } from './listeners.js';
import { describeTags, findLoadBalancer } from './load-balancer.js';
import { loadBalancerName } from './names.js';
import { deleteSecurityGroup } from './security.js';
import {
  clusterTag,
  fromAwsTags,
  ownedBy,
  serviceNameTag,
  serviceUidTag,
  toAwsTags,
} from './tags.js';
import { targetGroupsNamed } from './target-groups.js';

export const previousOwners = ['cloud-provider-aws', 'aws-load-balancer-controller'] as const;
export type PreviousOwner = (typeof previousOwners)[number];

export const adoptFromAnnotation = 'kube-lbc.io/adopt-from';
/** On an adopted NLB: whose it was, so a hand-back can restore that owner's tags. */
export const adoptedFromTag = 'kube-lbc.io/adopted-from';

const isOwner = (v: string): v is PreviousOwner =>
  (previousOwners as readonly string[]).includes(v);

/** The cloud-config's key (config.ts), as this module reads it. */
export interface AdoptionConfig {
  readonly adoptFrom?: PreviousOwner;
}

export function validateAdoptFrom(service: Readonly<V1Service>): FieldError[] {
  const value = service.metadata?.annotations?.[adoptFromAnnotation];
  if (value === undefined || isOwner(value.trim())) return [];
  return [
    {
      field: `metadata.annotations[${adoptFromAnnotation}]`,
      message: `"${value}" is not one of ${previousOwners.join(', ')}`,
    },
  ];
}

/** The owner the Service (or else the cluster's config) asks kube-lbc to adopt from. */
export function adoptFromOf(
  service: Readonly<V1Service>,
  config: AdoptionConfig,
): PreviousOwner | undefined {
  const value = service.metadata?.annotations?.[adoptFromAnnotation]?.trim();
  if (value !== undefined) return isOwner(value) ? value : undefined;
  return config.adoptFrom;
}

const alnum = (s: string | undefined) => (s ?? '').replace(/[^A-Za-z0-9]/g, '');
const nsOf = (s: Readonly<V1Service>) => s.metadata?.namespace ?? 'default';
const stackOf = (s: Readonly<V1Service>) => `${nsOf(s)}/${s.metadata?.name ?? ''}`;

/**
 * The names the previous owner gives the Service's NLB. cloud-provider-aws: `a` and the UID
 * without dashes, cut to 32. aws-load-balancer-controller: `k8s-<ns:8>-<name:8>-<hash:10>` of
 * sha256(cluster, UID, scheme); both schemes, since its default (internal) is not kube-lbc's.
 */
export function previousOwnerNames(
  owner: PreviousOwner,
  clusterName: string,
  service: Readonly<V1Service>,
): string[] {
  const uid = service.metadata?.uid ?? '';
  if (owner === 'cloud-provider-aws') return [`a${uid.replace(/-/g, '')}`.slice(0, 32)];
  return (['internet-facing', 'internal'] as const).map((scheme) => {
    const hash = createHash('sha256').update(clusterName).update(uid).update(scheme).digest('hex');
    return `k8s-${alnum(nsOf(service)).slice(0, 8)}-${alnum(service.metadata?.name).slice(0, 8)}-${hash.slice(0, 10)}`;
  });
}

/** Both projects name a Service's target groups `k8s-<ns:8>-<name:8>-<hash:10>`. */
export function previousTargetGroupPrefix(service: Readonly<V1Service>): string {
  return `k8s-${alnum(nsOf(service)).slice(0, 8)}-${alnum(service.metadata?.name).slice(0, 8)}-`;
}

/** The tags the previous owner puts on the Service's NLB (a hand-back restores these). */
export function previousOwnerTags(
  owner: PreviousOwner,
  clusterName: string,
  service: Readonly<V1Service>,
): Record<string, string> {
  if (owner === 'cloud-provider-aws') {
    return { [clusterTag(clusterName)]: 'owned', [serviceNameTag]: stackOf(service) };
  }
  return {
    'service.k8s.aws/stack': stackOf(service),
    'service.k8s.aws/resource': 'LoadBalancer',
    'elbv2.k8s.aws/cluster': clusterName,
  };
}

/** The previous owner's tags on the NLB or one of its target groups (`resource` differs). */
function heldByPrevious(
  owner: PreviousOwner,
  tags: Readonly<Record<string, string>>,
  clusterName: string,
  service: Readonly<V1Service>,
): boolean {
  if (tags[serviceUidTag] !== undefined) return false;
  if (owner === 'cloud-provider-aws') {
    return tags[clusterTag(clusterName)] === 'owned' && tags[serviceNameTag] === stackOf(service);
  }
  return (
    tags['service.k8s.aws/stack'] === stackOf(service) &&
    tags['elbv2.k8s.aws/cluster'] === clusterName
  );
}

/** Tag keys of the previous owner that kube-lbc does not use itself: dropped once adopted. */
export function foreignTagKeys(owner: PreviousOwner): string[] {
  return owner === 'aws-load-balancer-controller'
    ? ['service.k8s.aws/stack', 'service.k8s.aws/resource', 'elbv2.k8s.aws/cluster']
    : [];
}

export interface LocatedNlb {
  readonly lb: LoadBalancer;
  /** Set while an adoption is under way (kube-lbc's tags not yet on the NLB). */
  readonly adopting?: PreviousOwner;
  /** The NLB's tags, when read to decide (a previous owner's name). */
  readonly tags?: Readonly<Record<string, string>>;
}

export interface LocateEnv {
  readonly elb: ElasticLoadBalancingV2Client;
  readonly clusterName: string;
  readonly config: AdoptionConfig;
}

/**
 * The Service's NLB: kube-lbc's name first (one call, the only one when found); on a miss each
 * previous owner's name (three calls more, the price of a normal create), accepted only with
 * kube-lbc's service-uid tag, or with that owner's tags while the Service opts in to it.
 */
export async function locateNlb(
  env: LocateEnv,
  service: Readonly<V1Service>,
): Promise<LocatedNlb | undefined> {
  const own = await findLoadBalancer(env.elb, loadBalancerName(env.clusterName, service));
  if (own) return { lb: own };
  const uid = service.metadata?.uid;
  const optIn = adoptFromOf(service, env.config);
  for (const owner of previousOwners) {
    for (const name of previousOwnerNames(owner, env.clusterName, service)) {
      const lb = await findLoadBalancer(env.elb, name);
      if (!lb) continue;
      const tags = (await describeTags(env.elb, [lb.LoadBalancerArn!])).get(lb.LoadBalancerArn!);
      if (!tags) continue;
      if (ownedBy(tags, env.clusterName, uid)) return { lb, tags };
      if (owner === optIn && heldByPrevious(owner, tags, env.clusterName, service)) {
        return { lb, adopting: owner, tags };
      }
    }
  }
  return undefined;
}

/**
 * The break half, after kube-lbc's groups serve every listener: deletes the previous owner's
 * target groups no listener forwards to, and revokes cloud-provider-aws's node rules for the NLB.
 * Both found by name and tag, so a run that died half-way is finished by the next.
 */
export async function retirePreviousOwner(
  elb: ElasticLoadBalancingV2Client,
  ec2: EC2Client,
  owner: PreviousOwner,
  clusterName: string,
  service: Readonly<V1Service>,
  lb: LoadBalancer,
): Promise<void> {
  const inUse = new Set(
    (await describeListeners(elb, lb.LoadBalancerArn!)).flatMap(forwardTargets),
  );
  const groups = (await targetGroupsNamed(elb, previousTargetGroupPrefix(service))).filter(
    (tg) => !inUse.has(tg.TargetGroupArn!),
  );
  const tags = await describeTags(
    elb,
    groups.map((tg) => tg.TargetGroupArn!),
  );
  for (const tg of groups) {
    if (!heldByPrevious(owner, tags.get(tg.TargetGroupArn!) ?? {}, clusterName, service)) continue;
    try {
      await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  // An NLB without security groups reaches the nodes by those rules alone: they stay.
  if (owner === 'cloud-provider-aws' && (lb.SecurityGroups ?? []).length > 0) {
    await revokeLegacyNodeRules(ec2, clusterName, lb.LoadBalancerName!);
  }
}

/** cloud-provider-aws marks its node rules for an NLB by description. */
export const legacyRuleDescriptions = (lbName: string) => [
  `kubernetes.io/rule/nlb/client=${lbName}`,
  `kubernetes.io/rule/nlb/health=${lbName}`,
];

/**
 * Its path-MTU rule (ICMP 3/4) names no NLB: one per client CIDR of any of its NLBs in the
 * group, so it goes only once no other NLB's client rule has that CIDR.
 */
const legacyMtuDescription = 'kubernetes.io/rule/nlb/mtu';
const legacyClientDescription = 'kubernetes.io/rule/nlb/client';

/** Whether a range of `group` is one to revoke with the NLB's rules: theirs, or an orphan MTU. */
function legacyRuleFilter(group: SecurityGroup, marks: ReadonlySet<string>) {
  const clientCidrs = new Set(
    (group.IpPermissions ?? [])
      .flatMap((p) => p.IpRanges ?? [])
      .filter((r) => !marks.has(r.Description ?? ''))
      .filter((r) => (r.Description ?? '').includes(legacyClientDescription))
      .map((r) => r.CidrIp),
  );
  return (p: IpPermission, r: { CidrIp?: string; Description?: string }) =>
    marks.has(r.Description ?? '') ||
    (p.IpProtocol === 'icmp' &&
      r.Description === legacyMtuDescription &&
      !clientCidrs.has(r.CidrIp));
}

/** In the node groups: the ones carrying the cluster tag, as cloud-provider-aws picks them. */
async function revokeLegacyNodeRules(
  ec2: EC2Client,
  clusterName: string,
  lbName: string,
): Promise<void> {
  const marks = new Set(legacyRuleDescriptions(lbName));
  const out = await ec2.send(
    new DescribeSecurityGroupsCommand({
      Filters: [{ Name: 'tag-key', Values: [clusterTag(clusterName)] }],
    }),
  );
  for (const group of out.SecurityGroups ?? []) {
    const revoked = legacyRuleFilter(group, marks);
    const perms = (group.IpPermissions ?? [])
      .map((p) => ({
        ...p,
        IpRanges: (p.IpRanges ?? []).filter((r) => revoked(p, r)),
        Ipv6Ranges: (p.Ipv6Ranges ?? []).filter((r) => marks.has(r.Description ?? '')),
        UserIdGroupPairs: [],
        PrefixListIds: [],
      }))
      .filter((p) => p.IpRanges.length + p.Ipv6Ranges.length > 0);
    if (perms.length === 0) continue;
    await revokeIngress(ec2, group.GroupId!, perms);
  }
}

/**
 * The name both previous owners give the Service's managed NLB security group (cloud-provider-aws
 * copied aws-load-balancer-controller's): `k8s-<ns:8>-<name:8>-<hash:10>` of
 * sha256(cluster, name, namespace, UID).
 */
export function previousManagedGroupName(
  clusterName: string,
  service: Readonly<V1Service>,
): string {
  const m = service.metadata;
  const hash = createHash('sha256')
    .update(clusterName)
    .update(m?.name ?? '')
    .update(nsOf(service))
    .update(m?.uid ?? '')
    .digest('hex');
  return `${previousTargetGroupPrefix(service)}${hash.slice(0, 10)}`;
}

/** Where the previous owner's groups are: cloud-provider-aws's by name and its cluster tag. */
function foreignGroupFilters(
  owner: PreviousOwner,
  clusterName: string,
  service: Readonly<V1Service>,
) {
  if (owner === 'aws-load-balancer-controller') {
    return [{ Name: 'tag:elbv2.k8s.aws/cluster', Values: [clusterName] }];
  }
  return [
    { Name: 'group-name', Values: [previousManagedGroupName(clusterName, service)] },
    { Name: `tag:${clusterTag(clusterName)}`, Values: ['owned'] },
  ];
}

/**
 * After the NLB no longer holds them: aws-load-balancer-controller's managed frontend group for
 * the Service, and its shared backend group (with the node rules naming it) once no load
 * balancer of the account holds it, that is, once the last of its Services is migrated.
 * Returns the groups left: in use, or cloud-provider-aws's managed one (its NLBSecurityGroupMode
 * Managed), which kube-lbc may not delete.
 */
export async function retireForeignGroups(
  elb: ElasticLoadBalancingV2Client,
  ec2: EC2Client,
  owner: PreviousOwner,
  clusterName: string,
  service: Readonly<V1Service>,
): Promise<string[]> {
  const out = await ec2.send(
    new DescribeSecurityGroupsCommand({
      Filters: foreignGroupFilters(owner, clusterName, service),
    }),
  );
  if ((out.SecurityGroups ?? []).length === 0) return [];
  const held = new Set<string>();
  let Marker: string | undefined;
  do {
    const page = await elb.send(new DescribeLoadBalancersCommand({ Marker, PageSize: 400 }));
    for (const lb of page.LoadBalancers ?? []) for (const g of lb.SecurityGroups ?? []) held.add(g);
    Marker = page.NextMarker;
  } while (Marker);
  const left: string[] = [];
  for (const group of out.SecurityGroups ?? []) {
    const t = fromAwsTags(group.Tags);
    const mine =
      owner === 'cloud-provider-aws' ||
      (t['service.k8s.aws/stack'] === stackOf(service) &&
        t['service.k8s.aws/resource'] === 'ManagedLBSecurityGroup');
    const shared = owner !== 'cloud-provider-aws' && t['elbv2.k8s.aws/resource'] === 'backend-sg';
    if ((!mine && !shared) || held.has(group.GroupId!)) continue;
    // iam-policy.json lets kube-lbc delete only groups carrying its service-uid tag: this one is
    // detached and left, for the operator (named in the warning).
    if (owner === 'cloud-provider-aws') {
      left.push(group.GroupId!);
      continue;
    }
    await revokeRulesNaming(ec2, group.GroupId!);
    if ((await deleteSecurityGroup(ec2, group.GroupId!)) === 'in-use') left.push(group.GroupId!);
  }
  return left;
}

/**
 * Revokes the rules whose source is `sourceGroupId`, sent back as described (descriptions
 * included: the previous owner's rules carry theirs, and moto matches on them).
 */
async function revokeRulesNaming(ec2: EC2Client, sourceGroupId: string): Promise<void> {
  const out = await ec2.send(
    new DescribeSecurityGroupsCommand({
      Filters: [{ Name: 'ip-permission.group-id', Values: [sourceGroupId] }],
    }),
  );
  for (const group of out.SecurityGroups ?? []) {
    const perms = (group.IpPermissions ?? [])
      .map((p) => ({
        IpProtocol: p.IpProtocol,
        FromPort: p.FromPort,
        ToPort: p.ToPort,
        UserIdGroupPairs: (p.UserIdGroupPairs ?? []).filter((g) => g.GroupId === sourceGroupId),
      }))
      .filter((p) => p.UserIdGroupPairs.length > 0);
    if (perms.length === 0) continue;
    await revokeIngress(ec2, group.GroupId!, perms);
  }
}

/**
 * Before the commit: the NLB's listeners, modified in place, still carry only the previous
 * owner's tags, and kube-lbc's policy changes or deletes a listener only by its cluster tag.
 * kube-lbc's tags go on them, the previous owner's own keys off, as on a listener it made.
 */
export async function retagListeners(
  elb: ElasticLoadBalancingV2Client,
  owner: PreviousOwner,
  lbArn: string,
  tags: Readonly<Record<string, string>>,
): Promise<void> {
  const arns = (await describeListeners(elb, lbArn)).map((l) => l.ListenerArn!);
  for (const [arn, have] of await describeTags(elb, arns)) {
    if (Object.entries(tags).some(([k, v]) => have[k] !== v)) {
      await elb.send(new AddTagsCommand({ ResourceArns: [arn], Tags: toAwsTags(tags) }));
    }
    await dropForeignTags(elb, owner, arn, have);
  }
}

/** Drops the previous owner's own tag keys from the NLB (after the commit) or a listener. */
export async function dropForeignTags(
  elb: ElasticLoadBalancingV2Client,
  owner: PreviousOwner,
  arn: string,
  tags: Readonly<Record<string, string>>,
): Promise<void> {
  const keys = foreignTagKeys(owner).filter((k) => k in tags);
  if (keys.length > 0) {
    await elb.send(new RemoveTagsCommand({ ResourceArns: [arn], TagKeys: keys }));
  }
}
