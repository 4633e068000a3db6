/**
 * Deleting a Service's AWS resources, whatever state a crash left them in, and finding owned
 * resources whose Service is gone. Order: listeners, target groups, NLB, frontend security group,
 * then the cluster's backend group if no NLB holds it any more; the NLB and the frontend group
 * (which the garbage collector lists) go last of the Service's own, so an interrupted delete is
 * always found again.
 */
import {
  DeleteListenerCommand,
  DescribeLoadBalancersCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import type { V1Service } from '@kubernetes/client-node';
import { RetryAfterError } from '../../contract/errors.js';
import type { CallContext, OwnedLoadBalancer } from '../../contract/provider.js';
import {
  adoptedFromTag,
  locateNlb,
  previousOwnerNames,
  previousOwners,
  type PreviousOwner,
} from './adoption.js';
import { isNotFound } from './errors.js';
import { describeListeners } from './listeners.js';
import { deleteLoadBalancer, describeTags } from './load-balancer.js';
import { loadBalancerName, securityGroupName, targetGroupPrefix } from './names.js';
import type { AwsEnv } from './reconcile.js';
import { revokeNodeAccess } from './node-access.js';
import { deleteSecurityGroup, findSecurityGroup } from './security.js';
import { clusterTag, fromAwsTags, ownedBy, serviceNameTag, serviceUidTag } from './tags.js';
import { deleteTargetGroup, targetGroupsNamed } from './target-groups.js';

/** AWS releases an NLB's network interfaces (and so its security group) some seconds after. */
export const releaseRecheckMs = 10_000;

export async function deleteNlb(
  env: AwsEnv,
  ctx: CallContext,
  service: Readonly<V1Service>,
): Promise<void> {
  const { elb, ec2 } = env.clients;
  const uid = service.metadata!.uid!;
  const lb = await ownedNlb(env, service);
  if (lb) {
    for (const listener of await describeListeners(elb, lb.LoadBalancerArn!)) {
      ctx.signal.throwIfAborted();
      try {
        await elb.send(new DeleteListenerCommand({ ListenerArn: listener.ListenerArn }));
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }
  // By name, not by attachment: a crash may have left groups no listener points at.
  const groups = await targetGroupsNamed(elb, targetGroupPrefix(env.clusterName, uid));
  const tags = await describeTags(
    elb,
    groups.map((g) => g.TargetGroupArn!),
  );
  const busy: string[] = [];
  for (const group of groups) {
    if (!ownedBy(tags.get(group.TargetGroupArn!) ?? {}, env.clusterName, uid)) continue;
    ctx.signal.throwIfAborted();
    if ((await deleteTargetGroup(elb, group.TargetGroupArn!)) === 'in-use')
      busy.push(group.TargetGroupName!);
  }
  if (busy.length > 0) {
    throw new RetryAfterError(`target groups still in use: ${busy.join(', ')}`, releaseRecheckMs);
  }
  if (lb) await deleteLoadBalancer(elb, lb.LoadBalancerArn!);
  await deleteFrontendGroup(env, service, uid);
  // Last: the cluster's backend group goes once no NLB holds it (this one was the last).
  await env.backend.release(ec2, elb, env.clusterName);
}

/**
 * The Service's NLB if it carries kube-lbc's tags for the Service: never one an adoption has not
 * committed, nor one handed back (release.ts).
 */
async function ownedNlb(env: AwsEnv, service: Readonly<V1Service>) {
  const { elb } = env.clients;
  const located = await locateNlb(
    { elb, clusterName: env.clusterName, config: env.config },
    service,
  );
  if (!located || located.adopting) return undefined;
  const arn = located.lb.LoadBalancerArn!;
  const tags = located.tags ?? (await describeTags(elb, [arn])).get(arn) ?? {};
  return ownedBy(tags, env.clusterName, service.metadata!.uid!) ? located.lb : undefined;
}

async function deleteFrontendGroup(
  env: AwsEnv,
  service: Readonly<V1Service>,
  uid: string,
): Promise<void> {
  const { ec2 } = env.clients;
  const group = await findSecurityGroup(ec2, securityGroupName(env.clusterName, service));
  if (!group || !ownedBy(fromAwsTags(group.Tags), env.clusterName, uid)) return;
  // Node groups' rules that name it would keep it alive (DependencyViolation) forever.
  await revokeNodeAccess(ec2, group.GroupId!);
  if ((await deleteSecurityGroup(ec2, group.GroupId!)) === 'in-use') {
    throw new RetryAfterError(
      `security group ${group.GroupId} still held by the deleted NLB`,
      releaseRecheckMs,
    );
  }
}

/**
 * Owned NLBs, plus security groups left behind by a delete that stopped after the NLB went:
 * each reported once per Service UID, so the garbage collector's delete finishes the job.
 *
 * Tags alone prove nothing: anyone who can tag can write this cluster's tag and a UID. A resource
 * counts only if its name is also the one this cluster derives from that UID (a hash of cluster
 * name and UID), so another cluster's NLB carrying a forged tag is never reported here.
 */
export async function listOwned(env: AwsEnv, _ctx: CallContext): Promise<OwnedLoadBalancer[]> {
  const { elb, ec2 } = env.clients;
  const names = new Map<string, string>();
  let Marker: string | undefined;
  do {
    const page = await elb.send(new DescribeLoadBalancersCommand({ Marker, PageSize: 400 }));
    for (const lb of page.LoadBalancers ?? [])
      if (lb.Type === 'network') names.set(lb.LoadBalancerArn!, lb.LoadBalancerName!);
    Marker = page.NextMarker;
  } while (Marker);
  const found = new Map<string, OwnedLoadBalancer>();
  for (const [arn, tags] of await describeTags(elb, [...names.keys()]))
    add(found, env.clusterName, tags, (uid) => namedFor(env, names.get(arn), uid, tags));

  let NextToken: string | undefined;
  do {
    const page = await ec2.send(
      new DescribeSecurityGroupsCommand({
        Filters: [
          { Name: `tag:${clusterTag(env.clusterName)}`, Values: ['owned'] },
          { Name: 'tag-key', Values: [serviceUidTag] },
        ],
        NextToken,
      }),
    );
    for (const g of page.SecurityGroups ?? [])
      add(found, env.clusterName, fromAwsTags(g.Tags), (uid) => g.GroupName === groupFor(env, uid));
    NextToken = page.NextToken;
  } while (NextToken);
  return [...found.values()];
}

/** kube-lbc's name for the UID, or for an adopted NLB its previous owner's. */
function namedFor(
  env: AwsEnv,
  name: string | undefined,
  uid: string,
  tags: Readonly<Record<string, string>>,
): boolean {
  if (name === loadBalancerName(env.clusterName, { metadata: { uid } })) return true;
  const owner = tags[adoptedFromTag];
  if (!owner || !(previousOwners as readonly string[]).includes(owner)) return false;
  const [namespace = '', svcName = ''] = (tags[serviceNameTag] ?? '/').split('/');
  const service = { metadata: { uid, namespace, name: svcName } };
  return previousOwnerNames(owner as PreviousOwner, env.clusterName, service).includes(name ?? '');
}
const groupFor = (env: AwsEnv, uid: string) =>
  securityGroupName(env.clusterName, { metadata: { uid } });

function add(
  found: Map<string, OwnedLoadBalancer>,
  clusterName: string,
  tags: Record<string, string>,
  namedFor: (uid: string) => boolean,
): void {
  const uid = tags[serviceUidTag];
  if (!uid || !ownedBy(tags, clusterName) || found.has(uid) || !namedFor(uid)) return;
  const [namespace = '', name = ''] = (tags[serviceNameTag] ?? '/').split('/');
  found.set(uid, { serviceUID: uid, namespace, name });
}
