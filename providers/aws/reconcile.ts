/**
 * Brings one Service's NLB in line with the Service and the nodes: describe everything, compare
 * with the desired state, write only what differs. Every lookup goes by name, so a run that died
 * between two writes is finished by the next run, never duplicated.
 */
import {
  SetSecurityGroupsCommand,
  SetSubnetsCommand,
  type LoadBalancer,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { V1Node, V1Service } from '@kubernetes/client-node';
import { CloudError, RetryAfterError } from '../../contract/errors.js';
import type { CallContext, LoadBalancerStatus } from '../../contract/provider.js';
import { reconcileTargetGroupAttributes } from './attributes.js';
import type { AwsClients } from './clients.js';
import type { AwsConfig } from './config.js';
import { desiredLoadBalancer, desiredTargets, type DesiredLoadBalancer } from './desired.js';
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
import {
  ensureNodeAccess,
  inspectInstances,
  nodeAccessRules,
  revokeStaleNodeAccess,
  type StaleNodeAccess,
} from './node-access.js';
import { ensureFrontendSecurityGroup } from './security.js';
import { fixedAtCreationChanged, nlbSubnetMappings, type Placement } from './subnet-mappings.js';
import { chooseSubnets, type SubnetChoice } from './subnets.js';
import { ownedBy, retiringTag } from './tags.js';
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
  readonly clusterName: string;
  readonly config: AwsConfig;
  /** How long to wait before looking again at a provisioning NLB. @default 15 s */
  readonly provisioningRecheckMs?: number;
}

/** How long to wait before looking again at an NLB that is still provisioning. */
export const provisioningRecheckMs = 15_000;

export async function ensureNlb(
  env: AwsEnv,
  ctx: CallContext,
  service: Readonly<V1Service>,
  nodes: readonly Readonly<V1Node>[],
): Promise<LoadBalancerStatus> {
  const { elb } = env.clients;
  const desired = desiredLoadBalancer(env.clusterName, service);
  const instanceIds = targetsWithWarnings(ctx, nodes);

  let lb = await findLoadBalancer(elb, desired.name);
  let placement: Placement | undefined;
  const fixed = lb && (await fixedAtCreationChanged(elb, lb, desired));
  if (lb && fixed) {
    // The scheme and subnet mappings are fixed at creation: replace the NLB. Its target groups
    // are reused. Where the new one goes is settled (and its addresses checked) first, so "no
    // subnets for it" or a bad address never costs the Service its NLB.
    placement = await placementFor(env, desired);
    ctx.logger.info(
      { change: fixed, from: lb.Scheme, to: desired.settings.scheme },
      `replacing NLB to change its ${fixed}`,
    );
    ctx.signal.throwIfAborted();
    await deleteLoadBalancer(elb, lb.LoadBalancerArn!);
    lb = undefined;
  }
  ctx.signal.throwIfAborted();
  const made = lb
    ? await reconcileExisting(env, service, desired, lb)
    : await create(env, service, desired, placement ?? (await placementFor(env, desired)));
  lb = made.lb;
  const lbArn = lb.LoadBalancerArn!;
  const { live, stale } = await openNodes(env, ctx, desired, made.groupId, instanceIds);

  await reconcileAttributes(elb, lb, desired);
  const uid = service.metadata!.uid!;
  const prefix = targetGroupPrefix(env.clusterName, uid);
  const wanted = new Set(desired.targetGroups.map((tg) => tg.name));
  const listeners = await describeListeners(elb, lbArn);
  const attachedArns = [...new Set(listeners.map(forwardsTo))].filter(
    (arn): arn is string => arn !== undefined,
  );
  const attached = (await describeTargetGroups(elb, attachedArns)).filter((tg) =>
    tg.TargetGroupName?.startsWith(prefix),
  );
  const kept = attached.filter((tg) => wanted.has(tg.TargetGroupName!));
  const tags = await describeTags(elb, [lbArn, ...kept.map((tg) => tg.TargetGroupArn!)]);
  // A dead run's flag, or a change that is about to leave groups off every listener.
  let retiring = tags.get(lbArn)?.[retiringTag] !== undefined;
  if (!retiring && (kept.length !== wanted.size || attached.length !== kept.length)) {
    if (!(await markRetiring(elb, lbArn))) {
      ctx.logger.warn({}, 'no room for a tag on the NLB: a crash now may leave a target group');
    }
    retiring = true;
  }
  // Unchanged, every wanted group is on a listener; else any group of ours, attached or not.
  const pool = retiring ? await targetGroupsNamed(elb, prefix) : attached;
  const arns = new Map<string, string>();
  for (const want of desired.targetGroups) {
    ctx.signal.throwIfAborted();
    const have = pool.find((tg) => tg.TargetGroupName === want.name);
    if (have) await reconcileHealthCheck(elb, have, want);
    const tg = have ?? (await createTargetGroup(elb, want, lb.VpcId!, desired.tags));
    await reconcileTargetGroupAttributes(elb, tg.TargetGroupArn!, want.attributes, !have);
    arns.set(want.name, tg.TargetGroupArn!);
  }
  // Unless retiring, the pool is exactly the wanted groups, all tagged above.
  const retired = pool.filter((tg) => !wanted.has(tg.TargetGroupName!));
  const untagged = pool.map((tg) => tg.TargetGroupArn!).filter((arn) => !tags.has(arn));
  for (const [arn, t] of await describeTags(elb, untagged)) tags.set(arn, t);
  // Groups created above already carry desired.tags.
  const existing = new Set([lbArn, ...arns.values()]);
  await reconcileTags(elb, new Map([...tags].filter(([arn]) => existing.has(arn))), desired.tags);
  for (const arn of arns.values()) {
    ctx.signal.throwIfAborted();
    await reconcileTargets(elb, arn, live);
  }
  await reconcileListeners(
    elb,
    lbArn,
    listeners,
    desired.listeners,
    (name) => arns.get(name)!,
    desired.tags,
  );
  // Only now that no listener forwards to their NodePorts.
  ctx.signal.throwIfAborted();
  await revokeStaleNodeAccess(env.clients.ec2, made.groupId, stale);

  if (retiring) {
    // Groups of ports the Service dropped, now that no listener points at them.
    let allGone = true;
    for (const tg of retired) {
      if (!ownedBy(tags.get(tg.TargetGroupArn!) ?? {}, env.clusterName, uid)) continue;
      ctx.signal.throwIfAborted();
      if ((await deleteTargetGroup(elb, tg.TargetGroupArn!)) === 'in-use') {
        allGone = false;
        ctx.logger.warn(
          { targetGroup: tg.TargetGroupName },
          'old target group still in use; next sync retries',
        );
      }
    }
    ctx.signal.throwIfAborted();
    if (allGone) await clearRetiring(elb, lbArn);
  }
  return statusOf(lb, env.provisioningRecheckMs ?? provisioningRecheckMs);
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
  const { elb } = env.clients;
  const instanceIds = targetsWithWarnings(ctx, nodes);
  const lb = await findLoadBalancer(elb, loadBalancerName(env.clusterName, service));
  if (!lb) return;
  const desired = desiredLoadBalancer(env.clusterName, service);
  const frontendGroupId = lb.SecurityGroups?.[0];
  const { live, stale } = await openNodes(env, ctx, desired, frontendGroupId, instanceIds);
  // The listeners are not changed here: nothing routes to the NodePorts the Service dropped.
  if (frontendGroupId) await revokeStaleNodeAccess(env.clients.ec2, frontendGroupId, stale);
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
  const lb = await findLoadBalancer(env.clients.elb, loadBalancerName(env.clusterName, service));
  return lb?.DNSName ? { ingress: [{ hostname: lb.DNSName }] } : undefined;
}

async function openNodes(
  env: AwsEnv,
  ctx: CallContext,
  desired: DesiredLoadBalancer,
  frontendGroupId: string | undefined,
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
  const stale = frontendGroupId
    ? await ensureNodeAccess(ec2, frontendGroupId, groups, nodeAccessRules(desired))
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

async function create(
  env: AwsEnv,
  service: Readonly<V1Service>,
  desired: DesiredLoadBalancer,
  { subnets, mappings }: Placement,
): Promise<{ lb: LoadBalancer; groupId: string }> {
  const groupId = await ensureFrontendSecurityGroup(
    env.clients.ec2,
    frontendSpec(env, service, desired, subnets.vpcId),
  );
  return {
    lb: await createLoadBalancer(env.clients.elb, desired, subnets.subnetIds, groupId, mappings),
    groupId,
  };
}

async function reconcileExisting(
  env: AwsEnv,
  service: Readonly<V1Service>,
  desired: DesiredLoadBalancer,
  lb: LoadBalancer,
): Promise<{ lb: LoadBalancer; groupId: string }> {
  const { elb, ec2 } = env.clients;
  const groupId = await ensureFrontendSecurityGroup(
    ec2,
    frontendSpec(env, service, desired, lb.VpcId!),
  );
  if (!lb.SecurityGroups?.includes(groupId)) {
    // Deleted out of band and made again above: give the NLB the new one.
    await elb.send(
      new SetSecurityGroupsCommand({
        LoadBalancerArn: lb.LoadBalancerArn,
        SecurityGroups: [groupId],
      }),
    );
  }
  if (desired.settings.subnets) {
    const wanted = await subnetsFor(env, desired, lb.VpcId);
    const current = (lb.AvailabilityZones ?? []).map((z) => z.SubnetId).sort();
    if (current.join() !== wanted.subnetIds.join()) {
      await elb.send(
        new SetSubnetsCommand({ LoadBalancerArn: lb.LoadBalancerArn, Subnets: wanted.subnetIds }),
      );
    }
  }
  return { lb, groupId };
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
