/**
 * The NLB itself: find by name, create with its security group and tags, and keep the few
 * settings that can change in place (attributes, IP address type, tags) in line.
 */
import {
  AddTagsCommand,
  CreateLoadBalancerCommand,
  DeleteLoadBalancerCommand,
  DescribeLoadBalancerAttributesCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  ModifyLoadBalancerAttributesCommand,
  RemoveTagsCommand,
  SetIpAddressTypeCommand,
  type ElasticLoadBalancingV2Client,
  type LoadBalancer,
  type SubnetMapping,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { changedLoadBalancerAttributes, desiredLoadBalancerAttributes } from './attributes.js';
import { hasCloudCode, isNotFound } from './errors.js';
import type { DesiredLoadBalancer } from './desired.js';
import { fromAwsTags, retiringTag, toAwsTags } from './tags.js';

/** The NLB named `name`, or undefined. */
export async function findLoadBalancer(
  elb: ElasticLoadBalancingV2Client,
  name: string,
): Promise<LoadBalancer | undefined> {
  try {
    const out = await elb.send(new DescribeLoadBalancersCommand({ Names: [name] }));
    return out.LoadBalancers?.[0];
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export async function createLoadBalancer(
  elb: ElasticLoadBalancingV2Client,
  desired: DesiredLoadBalancer,
  subnetIds: readonly string[],
  securityGroupIds: readonly string[],
  /** Static addresses, with the NLB-only tag that records them (see subnet-mappings.ts). */
  mappings?: { subnetMappings: SubnetMapping[]; tags: Record<string, string> },
): Promise<LoadBalancer> {
  const tags = { ...desired.tags, ...mappings?.tags };
  try {
    const out = await elb.send(
      new CreateLoadBalancerCommand({
        Name: desired.name,
        Type: 'network',
        Scheme: desired.settings.scheme,
        IpAddressType: desired.settings.ipAddressType,
        ...(mappings ? { SubnetMappings: mappings.subnetMappings } : { Subnets: [...subnetIds] }),
        SecurityGroups: [...securityGroupIds],
        // A new NLB: groups of an earlier one (scheme change) or of a crashed create may be left.
        Tags: toAwsTags(
          Object.keys(tags).length < maxTags ? { ...tags, [retiringTag]: 'true' } : tags,
        ),
      }),
    );
    return out.LoadBalancers![0]!;
  } catch (err) {
    // Created by an earlier attempt whose answer was lost: it is ours (the name holds the UID).
    if (!hasCloudCode(err, 'DuplicateLoadBalancerName')) throw err;
    const found = await findLoadBalancer(elb, desired.name);
    if (!found) throw err;
    return found;
  }
}

export async function deleteLoadBalancer(
  elb: ElasticLoadBalancingV2Client,
  arn: string,
): Promise<void> {
  try {
    await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: arn }));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** Tags ELBv2 allows on one resource. */
const maxTags = 50;

export async function reconcileAttributes(
  elb: ElasticLoadBalancingV2Client,
  lb: LoadBalancer,
  desired: DesiredLoadBalancer,
): Promise<void> {
  const out = await elb.send(
    new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: lb.LoadBalancerArn }),
  );
  const changed = changedLoadBalancerAttributes(
    out.Attributes ?? [],
    desiredLoadBalancerAttributes(desired.settings),
  );
  if (changed.length > 0) {
    await elb.send(
      new ModifyLoadBalancerAttributesCommand({
        LoadBalancerArn: lb.LoadBalancerArn,
        Attributes: changed,
      }),
    );
  }
  if ((lb.IpAddressType ?? 'ipv4') !== desired.settings.ipAddressType) {
    await elb.send(
      new SetIpAddressTypeCommand({
        LoadBalancerArn: lb.LoadBalancerArn,
        IpAddressType: desired.settings.ipAddressType,
      }),
    );
  }
}

/** Tags of up to many resources, 20 ARNs per call (the API's limit). */
export async function describeTags(
  elb: ElasticLoadBalancingV2Client,
  arns: readonly string[],
): Promise<Map<string, Record<string, string>>> {
  const tags = new Map<string, Record<string, string>>();
  for (let i = 0; i < arns.length; i += 20) {
    const out = await elb.send(new DescribeTagsCommand({ ResourceArns: arns.slice(i, i + 20) }));
    for (const d of out.TagDescriptions ?? []) tags.set(d.ResourceArn!, fromAwsTags(d.Tags));
  }
  return tags;
}

/**
 * Adds or updates tags that differ, with one AddTags for all resources missing the same set.
 * Tags a user removes from additional-resource-tags stay: we cannot tell them from tags that
 * someone else put on the resource.
 */
export async function reconcileTags(
  elb: ElasticLoadBalancingV2Client,
  actual: ReadonlyMap<string, Readonly<Record<string, string>>>,
  desired: Readonly<Record<string, string>>,
): Promise<void> {
  const stale = [...actual].filter(([, tags]) =>
    Object.entries(desired).some(([k, v]) => tags[k] !== v),
  );
  for (let i = 0; i < stale.length; i += 20) {
    await elb.send(
      new AddTagsCommand({
        ResourceArns: stale.slice(i, i + 20).map(([arn]) => arn),
        Tags: toAwsTags(desired),
      }),
    );
  }
}

/**
 * Sets retiringTag; false when the NLB has no room for it (47 additional tags, or tags a user
 * dropped from the annotation, which stay). The run then cleans up as usual, but a crash before
 * it does leaves the retired groups for the Service's delete, as before the flag existed.
 */
export async function markRetiring(
  elb: ElasticLoadBalancingV2Client,
  arn: string,
): Promise<boolean> {
  try {
    await elb.send(
      new AddTagsCommand({ ResourceArns: [arn], Tags: [{ Key: retiringTag, Value: 'true' }] }),
    );
    return true;
  } catch (err) {
    if (hasCloudCode(err, 'TooManyTags')) return false;
    throw err;
  }
}

export async function clearRetiring(elb: ElasticLoadBalancingV2Client, arn: string): Promise<void> {
  await elb.send(new RemoveTagsCommand({ ResourceArns: [arn], TagKeys: [retiringTag] }));
}
