/**
 * Brings one Service's NLB in line with the Service and the nodes: describe everything, compare
 * with the desired state, write only what differs. Every lookup goes by name, so a run that died
 * between two writes is finished by the next run, never duplicated.
 */
import {
  AddTagsCommand,
  SetSecurityGroupsCommand,
  SetSubnetsCommand,
  type ElasticLoadBalancingV2Client,
  type Listener,
  type LoadBalancer,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { V1Node, V1Service } from '@kubernetes/client-node';
import { CloudError, InvalidServiceError, RetryAfterError } from '../../contract/errors.js';
import type { CallContext, LoadBalancerStatus } from '../../contract/provider.js';
import {
  adoptedFromTag,
  adoptFromAnnotation,
  dropForeignTags,
  locateNlb,
  retireForeignGroups,
  retagListeners,
  retirePreviousOwner,
  type LocatedNlb,
  type PreviousOwner,
} from './adoption.js';
import { reconcileTargetGroupAttributes } from './attributes.js';
import { annotation } from './annotations.js';
import type { AwsClients } from './clients.js';
import type { AwsConfig } from './config.js';
import {
  desiredLoadBalancer,
  desiredTargets,
  kubeProxyHealthPort,
  type DesiredLoadBalancer,
} from './desired.js';
import { describeListeners, forwardsTo, reconcileListeners } from './listeners.js';
import {
  clearRetiring,
  createLoadBalancer,
  deleteLoadBalancer,
  describeTags,
  findLoadBalancer,
  markRetiring,
  reconcileAttributes,
  reconcileTags,
} from './load-balancer.js';
import { loadBalancerName, securityGroupName, targetGroupPrefix } from './names.js';
import type { BackendGroups } from './backend-group.js';
import {
  backendNodeRules,
  ensureNodeAccess,
  frontendNodeRules,
  inspectInstances,
  nodePortRange,
  revokeNodeAccess,
  revokeStaleNodeAccess,
  type StaleNodeAccess,
} from './node-access.js';
import {
  deleteSecurityGroup,
  ensureFrontendSecurityGroup,
  findSecurityGroup,
  resolveUserGroups,
  type UserGroups,
} from './security.js';
import { fixedAtCreationChanged, nlbSubnetMappings, type Placement } from './subnet-mappings.js';
import { chooseSubnets, type SubnetChoice } from './subnets.js';
import { fromAwsTags, ownedBy, retiringTag, toAwsTags } from './tags.js';
import {
  createTargetGroup,
  deleteTargetGroup,
  describeTargetGroups,
  reconcileHealthCheck,
  reconcileTargets,
  targetGroupsNamed,
} from './target-groups.js';

export interface AwsEnv {
  readonly clients: AwsClients;
  /** The cluster's backend security groups, shared by every ensure and delete of the provider. */
  readonly backend: BackendGroups;
  readonly clusterName: string;
  readonly config: AwsConfig;
  /** How long to wait before looking again at a provisioning NLB. @default 15 s */
  readonly provisioningRecheckMs?: number;
}

/** How long to wait before looking again at an NLB that is still provisioning. */
export const provisioningRecheckMs = 15_000;

/**
 * What a step leaves for after every step has synthesized: deleting what the new state replaced.
 * As in aws-load-balancer-controller's stack deployer, the steps synthesize in order (new things
 * are made and moved to first) and their post-synthesize parts run in reverse, so nothing is
 * deleted while a listener may still send traffic to it.
 */
type PostSynthesize = () => Promise<void>;

export async function ensureNlb(
  env: AwsEnv,
  ctx: CallContext,
  service: Readonly<V1Service>,
  nodes: readonly Readonly<V1Node>[],
): Promise<LoadBalancerStatus> {
  const { elb } = env.clients;
  const desired = desiredLoadBalancer(env.clusterName, service);
  refuseUnadmittedPorts(desired);
  const instanceIds = targetsWithWarnings(ctx, nodes);
  const post: PostSynthesize[] = [];

  const { lb, groupId, backendGroupId, replaced, adopting, finalGroups } =
    await synthesizeLoadBalancer(env, ctx, service, desired);
  // Runs last (post runs in reverse): the previous owner's parts go, then the commit.
  if (adopting) {
    post.push(() => finishAdoption(env, ctx, service, desired, lb, adopting, finalGroups));
  }
  const groupIds = { frontend: groupId, backend: backendGroupId };
  const { live, stale } = await openNodes(env, ctx, desired, groupIds, instanceIds);
  // Only once no listener forwards to their NodePorts, and the backend admission is in place.
  if (groupId) post.push(() => revokeStaleNodeAccess(env.clients.ec2, groupId, stale));
  // security-groups took the place of kube-lbc's own group: the NLB no longer holds it.
  if (replaced) post.push(() => retireFrontendGroup(env, ctx, replaced));
  await reconcileAttributes(elb, lb, desired);
  const groups = await synthesizeTargetGroups(env, ctx, service, desired, lb, live, !!adopting);
  post.push(groups.retire);
  await reconcileListeners(
    elb,
    lb.LoadBalancerArn!,
    groups.listeners,
    desired.listeners,
    (name) => groups.arns.get(name)!,
    desired.tags,
  );
  for (const step of post.reverse()) {
    ctx.signal.throwIfAborted();
    await step();
  }
  return statusOf(lb, env.provisioningRecheckMs ?? provisioningRecheckMs);
}

/** The NLB and its frontend and backend groups, made or brought in line; a new scheme replaces it. */
async function synthesizeLoadBalancer(
  env: AwsEnv,
  ctx: CallContext,
  service: Readonly<V1Service>,
  desired: DesiredLoadBalancer,
): Promise<MadeLoadBalancer> {
  const { ec2, elb } = env.clients;
  const located = await locateNlb(
    { elb, clusterName: env.clusterName, config: env.config },
    service,
  );
  let lb = located?.lb;
  const fixed = lb && (await fixedAtCreationChanged(elb, lb, desired));
  if (located?.lb.LoadBalancerName !== desired.name && fixed) {
    // A new NLB would mean a new DNS name: the very thing adoption is for avoiding.
    throw new InvalidServiceError([
      {
        field: `metadata.annotations[${adoptFromAnnotation}]`,
        message: `the adopted NLB ${located!.lb.LoadBalancerName}'s ${fixed} differs from the Service's, and cannot change in place`,
      },
    ]);
  }
  if (lb && !fixed) {
    const user = await resolveUserGroups(ec2, desired.settings, lb.VpcId!);
    if (located?.tags && located.tags[adoptedFromTag] && !located.adopting) {
      // Committed by a run that died before dropping the previous owner's own keys.
      await dropForeignTags(
        elb,
        located.tags[adoptedFromTag] as PreviousOwner,
        lb.LoadBalancerArn!,
        located.tags,
      );
    }
    return reconcileExisting(env, service, desired, lb, user, located?.adopting);
  }
  // Where the new one goes is settled (its addresses and the user's groups checked) first, so
  // "no subnets for it", a bad address or an unknown group never costs the Service its NLB.
  const placement = await placementFor(env, desired);
  const user = await resolveUserGroups(ec2, desired.settings, placement.subnets.vpcId);
  if (lb && fixed) {
    // The scheme and subnet mappings are fixed at creation: replace the NLB. Its target groups
    // are reused.
    ctx.logger.info(
      { change: fixed, from: lb.Scheme, to: desired.settings.scheme },
      `replacing NLB to change its ${fixed}`,
    );
    ctx.signal.throwIfAborted();
    await deleteLoadBalancer(env.clients.elb, lb.LoadBalancerArn!);
    lb = undefined;
  }
  ctx.signal.throwIfAborted();
  return create(env, service, desired, placement, user);
}

/**
 * With security-groups, kube-lbc has no group of its own to admit a port outside the NodePort
 * range (which the backend group's fixed rules cover) on the nodes: refused before any call.
 */
function refuseUnadmittedPorts(desired: DesiredLoadBalancer): void {
  if ((desired.settings.userSecurityGroups?.replace.length ?? 0) === 0) return;
  const rules = [...frontendNodeRules(desired)];
  if (rules.length === 0) return;
  throw new InvalidServiceError([
    {
      field: `metadata.annotations[${annotation.securityGroups}]`,
      message: `the nodes admit the NLB on ports ${nodePortRange.from}-${nodePortRange.to} (and ${kubeProxyHealthPort}) only, and ${rules.map((r) => r.replace('|', ' ')).join(', ')} is outside them: with security-groups kube-lbc has no group of its own to admit it`,
    },
  ]);
}

/** Revokes the node rules naming kube-lbc's old frontend group and deletes it, if ours. */
async function retireFrontendGroup(env: AwsEnv, ctx: CallContext, groupId: string): Promise<void> {
  const { ec2 } = env.clients;
  await revokeNodeAccess(ec2, groupId);
  if ((await deleteSecurityGroup(ec2, groupId)) === 'in-use') {
    // Released some seconds after SetSecurityGroups; the Service's delete finds it by name.
    ctx.logger.warn({ group: groupId }, 'old frontend group still in use; left for the delete');
  }
}

/** The target groups the listeners will forward to, by name, and what they forward to now. */
interface TargetGroupPlan {
  readonly arns: ReadonlyMap<string, string>;
  readonly listeners: readonly Listener[];
  /** Post-synthesize: deletes the groups of ports the Service dropped, then clears the flag. */
  readonly retire: PostSynthesize;
}

/**
 * Makes every wanted target group (reusing any of ours a listener or an earlier run left), with
 * its health check, tags and targets. Flags the NLB first when the set of groups is changing, so
 * a crash before `retire` leaves groups the next run still finds.
 */
async function synthesizeTargetGroups(
  env: AwsEnv,
  ctx: CallContext,
  service: Readonly<V1Service>,
  desired: DesiredLoadBalancer,
  lb: LoadBalancer,
  live: readonly string[],
  /** The NLB is not tagged yet: its tags are the adoption's commit point. */
  adopting = false,
): Promise<TargetGroupPlan> {
  const { elb } = env.clients;
  const lbArn = lb.LoadBalancerArn!;
  const uid = service.metadata!.uid!;
  const prefix = targetGroupPrefix(env.clusterName, uid);
  const wanted = new Set(desired.targetGroups.map((tg) => tg.name));
  const { listeners, attached, tags } = await readAttachment(elb, lbArn, prefix, wanted);
  const retiring = await flagRetiring(ctx, elb, lbArn, tags, wanted, attached);
  // Unchanged, every wanted group is on a listener; else any group of ours, attached or not.
  const pool = retiring ? await targetGroupsNamed(elb, prefix) : attached;
  const arns = await ensureTargetGroups(ctx, elb, desired, lb.VpcId!, pool);
  // Unless retiring, the pool is exactly the wanted groups, all tagged already.
  const retired = pool.filter((tg) => !wanted.has(tg.TargetGroupName!));
  const untagged = pool.map((tg) => tg.TargetGroupArn!).filter((arn) => !tags.has(arn));
  for (const [arn, t] of await describeTags(elb, untagged)) tags.set(arn, t);
  // Groups created above already carry desired.tags.
  const existing = new Set([...(adopting ? [] : [lbArn]), ...arns.values()]);
  await reconcileTags(elb, new Map([...tags].filter(([arn]) => existing.has(arn))), desired.tags);
  for (const arn of arns.values()) {
    ctx.signal.throwIfAborted();
    await reconcileTargets(elb, arn, live);
  }
  const retire = retiring
    ? () => retireTargetGroups(env, ctx, uid, lbArn, retired, tags)
    : async () => {};
  return { arns, listeners, retire };
}

/** The listeners, the groups of ours they forward to, and the tags of the NLB and kept groups. */
async function readAttachment(
  elb: ElasticLoadBalancingV2Client,
  lbArn: string,
  prefix: string,
  wanted: ReadonlySet<string>,
) {
  const listeners = await describeListeners(elb, lbArn);
  const attachedArns = [...new Set(listeners.map(forwardsTo))].filter(
    (arn): arn is string => arn !== undefined,
  );
  const attached = (await describeTargetGroups(elb, attachedArns)).filter((tg) =>
    tg.TargetGroupName?.startsWith(prefix),
  );
  const kept = attached.filter((tg) => wanted.has(tg.TargetGroupName!));
  const tags = await describeTags(elb, [lbArn, ...kept.map((tg) => tg.TargetGroupArn!)]);
  return { listeners, attached, tags };
}

/** True when this run must retire groups: a dead run's flag, or a change about to leave some. */
async function flagRetiring(
  ctx: CallContext,
  elb: ElasticLoadBalancingV2Client,
  lbArn: string,
  tags: ReadonlyMap<string, Record<string, string>>,
  wanted: ReadonlySet<string>,
  attached: readonly TargetGroup[],
): Promise<boolean> {
  if (tags.get(lbArn)?.[retiringTag] !== undefined) return true;
  const kept = attached.filter((tg) => wanted.has(tg.TargetGroupName!));
  if (kept.length === wanted.size && attached.length === kept.length) return false;
  if (!(await markRetiring(elb, lbArn))) {
    ctx.logger.warn({}, 'no room for a tag on the NLB: a crash now may leave a target group');
  }
  return true;
}

/** Every wanted group's ARN: found in `pool` (health check brought in line) or created. */
async function ensureTargetGroups(
  ctx: CallContext,
  elb: ElasticLoadBalancingV2Client,
  desired: DesiredLoadBalancer,
  vpcId: string,
  pool: readonly TargetGroup[],
): Promise<Map<string, string>> {
  const arns = new Map<string, string>();
  for (const want of desired.targetGroups) {
    ctx.signal.throwIfAborted();
    const have = pool.find((tg) => tg.TargetGroupName === want.name);
    if (have) await reconcileHealthCheck(elb, have, want);
    const tg = have ?? (await createTargetGroup(elb, want, vpcId, desired.tags));
    await reconcileTargetGroupAttributes(elb, tg.TargetGroupArn!, want.attributes, !have);
    arns.set(want.name, tg.TargetGroupArn!);
  }
  return arns;
}

/** Deletes our groups no port wants, now that no listener points at them; then clears the flag. */
async function retireTargetGroups(
  env: AwsEnv,
  ctx: CallContext,
  uid: string,
  lbArn: string,
  retired: readonly TargetGroup[],
  tags: ReadonlyMap<string, Record<string, string>>,
): Promise<void> {
  let allGone = true;
  for (const tg of retired) {
    if (!ownedBy(tags.get(tg.TargetGroupArn!) ?? {}, env.clusterName, uid)) continue;
    ctx.signal.throwIfAborted();
    if ((await deleteTargetGroup(env.clients.elb, tg.TargetGroupArn!)) === 'in-use') {
      allGone = false;
      ctx.logger.warn(
        { targetGroup: tg.TargetGroupName },
        'old target group still in use; next sync retries',
      );
    }
  }
  ctx.signal.throwIfAborted();
  if (allGone) await clearRetiring(env.clients.elb, lbArn);
}

/**
 * Points the NLB's target groups at `nodes`. Besides targets it only adds node security group
 * rules for this NLB, since a joining node may sit in a group no earlier node used.
 */
export async function updateNlbTargets(
  env: AwsEnv,
  ctx: CallContext,
  service: Readonly<V1Service>,
  nodes: readonly Readonly<V1Node>[],
): Promise<void> {
  const { elb, ec2 } = env.clients;
  const instanceIds = targetsWithWarnings(ctx, nodes);
  const located = await locate(env, service);
  // An adoption not yet committed is ensure's to finish: the previous owner's groups stay its.
  if (!located || located.adopting) return;
  const { lb } = located;
  const desired = desiredLoadBalancer(env.clusterName, service);
  // With the user's groups on the NLB too, ours is found by name (security-groups: none).
  const mixed = desired.settings.userSecurityGroups !== undefined;
  const own = mixed ? await ownGroup(env, service, lb.VpcId) : undefined;
  const { live, stale, groupIds } = await env.backend.use(
    ec2,
    env.clusterName,
    lb.VpcId!,
    async (backend) => {
      const frontend = mixed
        ? own && lb.SecurityGroups?.includes(own)
          ? own
          : undefined
        : lb.SecurityGroups?.find((g) => g !== backend);
      const groupIds = { frontend, backend };
      return { ...(await openNodes(env, ctx, desired, groupIds, instanceIds)), groupIds };
    },
  );
  // The listeners are not changed here: nothing routes to the NodePorts the Service dropped.
  // Before the NLB holds the backend group (an ensure adds it), those rules are its only way in.
  if (groupIds.frontend && lb.SecurityGroups?.includes(groupIds.backend)) {
    await revokeStaleNodeAccess(ec2, groupIds.frontend, stale);
  }
  // The groups the listeners forward to: the ones serving traffic, whatever a crash left.
  const listeners = await describeListeners(elb, lb.LoadBalancerArn!);
  for (const arn of new Set(listeners.map(forwardsTo))) {
    if (arn === undefined) continue;
    ctx.signal.throwIfAborted();
    await reconcileTargets(elb, arn, live);
  }
}

export async function nlbStatus(
  env: AwsEnv,
  service: Readonly<V1Service>,
): Promise<LoadBalancerStatus | undefined> {
  const lb = (await locate(env, service))?.lb;
  return lb?.DNSName ? { ingress: [{ hostname: lb.DNSName }] } : undefined;
}

async function openNodes(
  env: AwsEnv,
  ctx: CallContext,
  desired: DesiredLoadBalancer,
  groupIds: { readonly frontend: string | undefined; readonly backend: string },
  instanceIds: readonly string[],
): Promise<{ live: string[]; stale: StaleNodeAccess }> {
  const { ec2 } = env.clients;
  const { live, gone, groups, undecided } = await inspectInstances(
    ec2,
    env.clusterName,
    instanceIds,
  );
  if (gone.length > 0) {
    // RegisterTargets would refuse the whole batch for one of these.
    ctx.logger.warn({ instances: gone }, 'instances not running (or unknown to EC2): not targets');
  }
  if (undecided.length > 0) {
    ctx.logger.warn(
      { instances: undecided },
      'no single node security group (the one with the cluster tag) found: open the NodePorts to the NLB by hand',
    );
  }
  ctx.signal.throwIfAborted();
  // Shared by every NLB: never narrowed by one Service, so what it would call stale is kept.
  await ensureNodeAccess(ec2, groupIds.backend, groups, backendNodeRules);
  const stale = groupIds.frontend
    ? await ensureNodeAccess(ec2, groupIds.frontend, groups, frontendNodeRules(desired))
    : [];
  return { live, stale };
}

function targetsWithWarnings(ctx: CallContext, nodes: readonly Readonly<V1Node>[]): string[] {
  const { instanceIds, skipped } = desiredTargets(nodes);
  for (const name of skipped) {
    ctx.recordEvent(
      'Warning',
      'NodeWithoutInstanceID',
      `Node ${name} has no spec.providerID of the form aws:///<zone>/<instance-id>; it is not a target`,
    );
  }
  return instanceIds;
}

/** What must hold before an NLB is made: its subnets, and its static addresses checked. */
async function placementFor(env: AwsEnv, desired: DesiredLoadBalancer): Promise<Placement> {
  const subnets = await subnetsFor(env, desired);
  return { subnets, mappings: await nlbSubnetMappings(env.clients.ec2, desired, subnets) };
}

function subnetsFor(
  env: AwsEnv,
  desired: DesiredLoadBalancer,
  vpcId = env.config.vpcId,
): Promise<SubnetChoice> {
  return chooseSubnets(env.clients.ec2, {
    clusterName: env.clusterName,
    scheme: desired.settings.scheme,
    ...(desired.settings.subnets ? { requested: desired.settings.subnets } : {}),
    ...(vpcId ? { vpcId } : {}),
  });
}

interface MadeLoadBalancer {
  readonly lb: LoadBalancer;
  /** The Service's own frontend group; undefined when security-groups replaces it. */
  readonly groupId: string | undefined;
  readonly backendGroupId: string;
  /** kube-lbc's own frontend group, which security-groups replaced: to delete. */
  readonly replaced?: string;
  /** The previous owner, while an adoption is under way. */
  readonly adopting?: PreviousOwner;
  /** The groups the NLB holds once an adoption is done. */
  readonly finalGroups?: readonly string[];
}

async function create(
  env: AwsEnv,
  service: Readonly<V1Service>,
  desired: DesiredLoadBalancer,
  { subnets, mappings }: Placement,
  user: UserGroups,
): Promise<MadeLoadBalancer> {
  const { elb, ec2 } = env.clients;
  return env.backend.use(ec2, env.clusterName, subnets.vpcId, async (backendGroupId) => {
    const groupId = user.own
      ? await ensureFrontendSecurityGroup(ec2, frontendSpec(env, service, desired, subnets.vpcId))
      : undefined;
    // One an NLB this one replaces (scheme, subnet mappings) held.
    const replaced = user.own ? undefined : await ownGroup(env, service, subnets.vpcId);
    const groups = nlbGroups(groupId, user, backendGroupId);
    const lb = await createLoadBalancer(elb, desired, subnets.subnetIds, groups, mappings);
    return { lb, groupId, backendGroupId, ...(replaced ? { replaced } : {}) };
  });
}

async function reconcileExisting(
  env: AwsEnv,
  service: Readonly<V1Service>,
  desired: DesiredLoadBalancer,
  lb: LoadBalancer,
  user: UserGroups,
  adopting?: PreviousOwner,
): Promise<MadeLoadBalancer> {
  const { elb, ec2 } = env.clients;
  const made = await env.backend.use(ec2, env.clusterName, lb.VpcId!, async (backendGroupId) => {
    const held = lb.SecurityGroups ?? [];
    if (held.length === 0 && lb.LoadBalancerName !== desired.name) {
      // Adopted, built without security groups (cloud-provider-aws's default): AWS refuses
      // SetSecurityGroups on such an NLB, so it stays without, and the previous owner's node
      // rules, its only way in, stay too (retirePreviousOwner).
      return {
        lb,
        groupId: undefined,
        backendGroupId,
        finalGroups: [],
        ...(adopting ? { adopting } : {}),
      };
    }
    const groupId = user.own
      ? await ensureFrontendSecurityGroup(ec2, frontendSpec(env, service, desired, lb.VpcId!))
      : undefined;
    // Our own group, which security-groups replaces: deleted once the NLB no longer holds it.
    // Looked for on every run, so one a crash or a slow release left is deleted the next time.
    const replaced = user.own ? undefined : await ownGroup(env, service, lb.VpcId);
    const finalGroups = nlbGroups(groupId, user, backendGroupId);
    // Adopting: kube-lbc's groups join the previous owner's, which go only at the end.
    const wanted = adopting ? [...new Set([...held, ...finalGroups])] : finalGroups;
    if (held.length !== wanted.length || wanted.some((g) => !held.includes(g))) {
      // An NLB from before the backend group, a group deleted out of band and made again, or
      // the Service's security-groups or extra-security-groups changed.
      await elb.send(
        new SetSecurityGroupsCommand({
          LoadBalancerArn: lb.LoadBalancerArn,
          SecurityGroups: wanted,
        }),
      );
    }
    return {
      lb,
      groupId,
      backendGroupId,
      finalGroups,
      ...(replaced ? { replaced } : {}),
      ...(adopting ? { adopting } : {}),
    };
  });
  if (desired.settings.subnets) {
    const wanted = await subnetsFor(env, desired, lb.VpcId);
    const current = (lb.AvailabilityZones ?? []).map((z) => z.SubnetId).sort();
    if (current.join() !== wanted.subnetIds.join()) {
      await elb.send(
        new SetSubnetsCommand({ LoadBalancerArn: lb.LoadBalancerArn, Subnets: wanted.subnetIds }),
      );
    }
  }
  return made;
}

/** What the NLB holds: kube-lbc's frontend group (unless replaced), the user's, the backend. */
function nlbGroups(own: string | undefined, user: UserGroups, backend: string): string[] {
  return [...new Set([...(own ? [own] : []), ...user.ids, backend])];
}

/** kube-lbc's own frontend group of the Service (by name, and carrying its tags), if any. */
async function ownGroup(
  env: AwsEnv,
  service: Readonly<V1Service>,
  vpcId: string | undefined,
): Promise<string | undefined> {
  const own = await findSecurityGroup(
    env.clients.ec2,
    securityGroupName(env.clusterName, service),
    vpcId,
  );
  return own && ownedBy(fromAwsTags(own.Tags), env.clusterName, service.metadata!.uid!)
    ? own.GroupId
    : undefined;
}

function frontendSpec(
  env: AwsEnv,
  service: Readonly<V1Service>,
  desired: DesiredLoadBalancer,
  vpcId: string,
) {
  return {
    name: securityGroupName(env.clusterName, service),
    vpcId,
    tags: desired.tags,
    sourceRanges: desired.sourceRanges,
    listeners: desired.listeners,
  };
}

function locate(env: AwsEnv, service: Readonly<V1Service>): Promise<LocatedNlb | undefined> {
  return locateNlb(
    { elb: env.clients.elb, clusterName: env.clusterName, config: env.config },
    service,
  );
}

/**
 * The last step of an adoption, once kube-lbc's groups serve every listener: the previous
 * owner's target groups and rules go, the NLB keeps only kube-lbc's security groups, its
 * listeners get kube-lbc's tags, then the NLB does (the commit), then loses the previous owner's
 * own keys.
 */
async function finishAdoption(
  env: AwsEnv,
  ctx: CallContext,
  service: Readonly<V1Service>,
  desired: DesiredLoadBalancer,
  lb: LoadBalancer,
  owner: PreviousOwner,
  finalGroups: readonly string[] | undefined,
): Promise<void> {
  const { elb, ec2 } = env.clients;
  await retirePreviousOwner(elb, ec2, owner, env.clusterName, service, lb);
  ctx.signal.throwIfAborted();
  if (finalGroups && finalGroups.length > 0) {
    await elb.send(
      new SetSecurityGroupsCommand({
        LoadBalancerArn: lb.LoadBalancerArn,
        SecurityGroups: [...finalGroups],
      }),
    );
  }
  ctx.signal.throwIfAborted();
  const left = await retireForeignGroups(elb, ec2, owner, env.clusterName, service);
  if (left.length > 0) {
    ctx.logger.warn(
      { groups: left },
      "previous owner's security groups left: in use, or not kube-lbc's to delete",
    );
  }
  ctx.signal.throwIfAborted();
  await retagListeners(elb, owner, lb.LoadBalancerArn!, desired.tags);
  ctx.signal.throwIfAborted();
  await elb.send(
    new AddTagsCommand({
      ResourceArns: [lb.LoadBalancerArn!],
      Tags: toAwsTags({ ...desired.tags, [adoptedFromTag]: owner }),
    }),
  );
  const tags = (await describeTags(elb, [lb.LoadBalancerArn!])).get(lb.LoadBalancerArn!) ?? {};
  await dropForeignTags(elb, owner, lb.LoadBalancerArn!, tags);
  ctx.recordEvent('Normal', 'Adopted', `NLB ${lb.LoadBalancerName} adopted from ${owner}`);
  if ((lb.SecurityGroups ?? []).length === 0) {
    ctx.recordEvent(
      'Warning',
      'AdoptedWithoutSecurityGroups',
      `NLB ${lb.LoadBalancerName} was built without security groups and AWS cannot add them: ${owner}'s node rules for it stay, and new ports or source ranges need them by hand`,
    );
  }
}

/** Honest status: the hostname is published at once, Ready only once the NLB is `active`. */
function statusOf(lb: LoadBalancer, recheckMs: number): LoadBalancerStatus {
  const status = { ingress: lb.DNSName ? [{ hostname: lb.DNSName }] : [] };
  const state = lb.State?.Code;
  if (state === 'active' || state === 'active_impaired') return status;
  if (state === 'provisioning' || state === undefined) {
    throw new RetryAfterError(`NLB ${lb.LoadBalancerName} is provisioning`, recheckMs, status);
  }
  throw new CloudError(
    `NLB ${lb.LoadBalancerName} is ${state}: ${lb.State?.Reason ?? 'no reason given'}`,
    {
      operation: 'DescribeLoadBalancers',
      cloudCode: `LoadBalancerState.${state}`,
    },
  );
}
