/**
 * Handing a Service's NLB back (the contract's releaseLoadBalancer): the resources stay as they
 * are, serving traffic; only the marks by which kube-lbc knows them as its own go, the
 * `kube-lbc.io/*` tags on the NLB, its listeners and target groups and its frontend group. An
 * NLB kube-lbc adopted gets its previous owner's tags back first, so that owner can take it again.
 * Without kube-lbc's service-uid tag, listOwned no longer reports it and a delete leaves it.
 */
import { DeleteTagsCommand } from '@aws-sdk/client-ec2';
import {
  AddTagsCommand,
  RemoveTagsCommand,
  type ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { V1Service } from '@kubernetes/client-node';
import type { CallContext } from '../../contract/provider.js';
import {
  adoptedFromTag,
  locateNlb,
  previousOwnerTags,
  previousOwners,
  type PreviousOwner,
} from './adoption.js';
import { describeListeners, forwardsTo } from './listeners.js';
import { describeTags } from './load-balancer.js';
import { securityGroupName, targetGroupPrefix } from './names.js';
import type { AwsEnv } from './reconcile.js';
import { findSecurityGroup } from './security.js';
import { subnetMappingsTag } from './subnet-mappings.js';
import { fromAwsTags, ownedBy, toAwsTags } from './tags.js';
import { targetGroupsNamed } from './target-groups.js';

/**
 * The tag keys a release removes: kube-lbc's own, except the subnet-mappings record, which says
 * how the NLB was made, not whose it is; without it a take-back would replace the NLB.
 */
const ours = (key: string) => key.startsWith('kube-lbc.io/') && key !== subnetMappingsTag;

export async function releaseNlb(
  env: AwsEnv,
  ctx: CallContext,
  service: Readonly<V1Service>,
): Promise<void> {
  const { elb, ec2 } = env.clients;
  const uid = service.metadata!.uid!;
  const located = await locateNlb(
    { elb, clusterName: env.clusterName, config: env.config },
    service,
  );
  // The target groups and the frontend group go by name and tag: one a crash left is released too.
  const arns: string[] = [];
  if (located && !located.adopting) {
    const lbArn = located.lb.LoadBalancerArn!;
    const tags = located.tags ?? (await describeTags(elb, [lbArn])).get(lbArn) ?? {};
    const owner = tags[adoptedFromTag];
    if ((previousOwners as readonly string[]).includes(owner ?? '')) {
      // Before kube-lbc's tags go: the NLB is never without an owner's marks.
      const restore = previousOwnerTags(owner as PreviousOwner, env.clusterName, service);
      if (Object.entries(restore).some(([k, v]) => tags[k] !== v)) {
        await elb.send(new AddTagsCommand({ ResourceArns: [lbArn], Tags: toAwsTags(restore) }));
      }
    }
    arns.push(lbArn);
    for (const l of await describeListeners(elb, lbArn)) {
      arns.push(l.ListenerArn!);
      const tg = forwardsTo(l);
      if (tg) arns.push(tg);
    }
  }
  for (const tg of await targetGroupsNamed(elb, targetGroupPrefix(env.clusterName, uid))) {
    arns.push(tg.TargetGroupArn!);
  }
  // The NLB last: while it still says whose it is, a rerun after a crash finds it as before.
  const lbArn = located && !located.adopting ? located.lb.LoadBalancerArn! : undefined;
  await removeOurTags(
    elb,
    [...new Set(arns)].filter((arn) => arn !== lbArn),
  );

  const group = await findSecurityGroup(ec2, securityGroupName(env.clusterName, service));
  const groupTags = fromAwsTags(group?.Tags);
  if (group && ownedBy(groupTags, env.clusterName, uid)) {
    await ec2.send(
      new DeleteTagsCommand({
        Resources: [group.GroupId!],
        Tags: Object.keys(groupTags)
          .filter(ours)
          .map((Key) => ({ Key })),
      }),
    );
  }
  if (lbArn) await removeOurTags(elb, [lbArn]);
  ctx.logger.info({ loadBalancer: located?.lb.LoadBalancerName }, 'released: resources left');
}

/** RemoveTags of kube-lbc's keys wherever a resource still has some: none on a second run. */
async function removeOurTags(elb: ElasticLoadBalancingV2Client, arns: string[]): Promise<void> {
  for (const [arn, tags] of await describeTags(elb, arns)) {
    const keys = Object.keys(tags).filter(ours);
    if (keys.length > 0) {
      await elb.send(new RemoveTagsCommand({ ResourceArns: [arn], TagKeys: keys }));
    }
  }
}
