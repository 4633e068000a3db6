/**
 * Static addresses for an NLB: eip-allocations (internet-facing) or private-ipv4-addresses
 * (internal), one per subnet, given to CreateLoadBalancer as subnet mappings. AWS cannot change
 * the mappings of an existing NLB, so a change means a new NLB, made the way a scheme change
 * makes one (see ensureNlb): everything it needs is read and checked before the old one goes.
 *
 * Which addresses an NLB was made with is recorded in a tag at creation, not read back from
 * DescribeLoadBalancers: moto does not return LoadBalancerAddresses, and the tag, written in
 * the same call that makes the NLB, cannot disagree with mappings that never change.
 */
import { createHash } from 'node:crypto';
import { DescribeAddressesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type {
  ElasticLoadBalancingV2Client,
  LoadBalancer,
  SubnetMapping,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { InvalidServiceError } from '../../contract/errors.js';
import { annotation, type AwsServiceSettings } from './annotations.js';
import { hasCloudCode } from './errors.js';
import type { DesiredLoadBalancer } from './desired.js';
import { describeTags } from './load-balancer.js';
import type { SubnetChoice } from './subnets.js';

/** On an NLB made with subnet mappings: a hash of the annotations that chose them. */
export const subnetMappingsTag = 'kube-lbc.io/subnet-mappings';

/** The tag value for these settings; undefined when the Service asks for no static address. */
export function mappingsFingerprint(settings: Readonly<AwsServiceSettings>): string | undefined {
  const m = settings.subnetMappings;
  if (!m) return undefined;
  // The subnets annotation too: a mapping is a (subnet, address) pair.
  const text = JSON.stringify([m.kind, m.values, settings.subnets ?? null]);
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

/** Whether the NLB was made with other subnet mappings than the Service now asks for. */
export async function mappingsChanged(
  elb: ElasticLoadBalancingV2Client,
  lb: LoadBalancer,
  desired: DesiredLoadBalancer,
): Promise<boolean> {
  const want = mappingsFingerprint(desired.settings);
  // Unset: the NLB keeps whatever addresses it has, as AWS chose them or an earlier annotation.
  if (want === undefined) return false;
  const tags = await describeTags(elb, [lb.LoadBalancerArn!]);
  return tags.get(lb.LoadBalancerArn!)?.[subnetMappingsTag] !== want;
}

const field = (key: string) => `metadata.annotations[${key}]`;

/**
 * The mappings for CreateLoadBalancer, checked as AWS would check them, since moto does not:
 * one address per subnet, each private address inside its subnet (matched by CIDR, not order,
 * as aws-load-balancer-controller does), each allocation existing and not held by an instance.
 * Undefined without the annotations. Reads only; throws InvalidServiceError naming the annotation.
 */
export async function subnetMappingsFor(
  ec2: EC2Client,
  desired: DesiredLoadBalancer,
  subnets: SubnetChoice,
): Promise<SubnetMapping[] | undefined> {
  const m = desired.settings.subnetMappings;
  if (!m) return undefined;
  const key = m.kind === 'eip' ? annotation.eipAllocations : annotation.privateIpv4Addresses;
  const invalid = (message: string) => new InvalidServiceError([{ field: field(key), message }]);
  if (m.values.length !== subnets.subnetIds.length) {
    throw invalid(
      `${m.values.length} addresses for ${subnets.subnetIds.length} subnets (${subnets.subnetIds.join(', ')}): give one per subnet`,
    );
  }
  if (m.kind === 'private-ipv4') {
    return subnets.subnetIds.map((SubnetId) => {
      const cidr = subnets.cidrBlocks[SubnetId] ?? '';
      const inside = m.values.filter((ip) => ipv4Within(ip, cidr));
      if (inside.length !== 1) {
        throw invalid(
          `subnet ${SubnetId} (${cidr}) needs exactly one of the addresses, and ${inside.length} are inside it`,
        );
      }
      return { SubnetId, PrivateIPv4Address: inside[0] };
    });
  }
  try {
    const out = await ec2.send(new DescribeAddressesCommand({ AllocationIds: [...m.values] }));
    const held = (out.Addresses ?? []).filter((a) => a.InstanceId);
    if (held.length > 0) {
      throw invalid(
        `${held.map((a) => `${a.AllocationId} is associated with instance ${a.InstanceId}`).join('; ')}`,
      );
    }
  } catch (err) {
    if (hasCloudCode(err, 'InvalidAllocationID.NotFound', 'InvalidAllocationID.Malformed'))
      throw invalid(`not every allocation exists: ${(err as Error).message}`);
    throw err;
  }
  return subnets.subnetIds.map((SubnetId, i) => ({ SubnetId, AllocationId: m.values[i] }));
}

function ipv4Within(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const toInt = (a: string) => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  if (base === undefined || bits === undefined) return false;
  const size = 2 ** (32 - Number(bits));
  return Math.floor(toInt(ip) / size) === Math.floor(toInt(base) / size);
}

export interface Placement {
  readonly subnets: SubnetChoice;
  readonly mappings?: { subnetMappings: SubnetMapping[]; tags: Record<string, string> };
}

/** What AWS fixes when it makes an NLB and the Service now wants otherwise, if anything. */
export async function fixedAtCreationChanged(
  elb: ElasticLoadBalancingV2Client,
  lb: LoadBalancer,
  desired: DesiredLoadBalancer,
): Promise<'scheme' | 'subnet mappings' | undefined> {
  if (lb.Scheme !== desired.settings.scheme) return 'scheme';
  return (await mappingsChanged(elb, lb, desired)) ? 'subnet mappings' : undefined;
}

/** The subnet mappings and their tag for createLoadBalancer; undefined without annotations. */
export async function nlbSubnetMappings(
  ec2: EC2Client,
  desired: DesiredLoadBalancer,
  subnets: SubnetChoice,
): Promise<Placement['mappings']> {
  const subnetMappings = await subnetMappingsFor(ec2, desired, subnets);
  const fingerprint = mappingsFingerprint(desired.settings);
  if (!subnetMappings || fingerprint === undefined) return undefined;
  return { subnetMappings, tags: { [subnetMappingsTag]: fingerprint } };
}
