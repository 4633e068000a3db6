/**
 * Which subnets an NLB goes into: the ones the subnets annotation names (IDs or Name tags), else
 * those tagged for load balancers of this scheme and this cluster, one per availability zone.
 */
import {
  DescribeSubnetsCommand,
  type EC2Client,
  type Filter,
  type Subnet,
} from '@aws-sdk/client-ec2';
import { clusterTag } from './tags.js';

export interface SubnetChoice {
  readonly subnetIds: string[];
  readonly vpcId: string;
  /** Each chosen subnet's IPv4 CIDR, by ID. */
  readonly cidrBlocks: Readonly<Record<string, string>>;
}

/** No usable subnet: a setup problem the user must fix, reported as such. */
export class NoSubnetsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoSubnetsError';
  }
}

export async function chooseSubnets(
  ec2: EC2Client,
  options: {
    clusterName: string;
    scheme: 'internet-facing' | 'internal';
    requested?: readonly string[];
    vpcId?: string;
  },
): Promise<SubnetChoice> {
  const vpcFilter: Filter[] = options.vpcId ? [{ Name: 'vpc-id', Values: [options.vpcId] }] : [];
  if (options.requested) {
    const ids = options.requested.filter((s) => /^subnet-[0-9a-f]+$/.test(s));
    const names = options.requested.filter((s) => !ids.includes(s));
    const found: Subnet[] = [];
    if (ids.length > 0)
      found.push(...(await describe(ec2, [{ Name: 'subnet-id', Values: ids }, ...vpcFilter])));
    if (names.length > 0)
      found.push(...(await describe(ec2, [{ Name: 'tag:Name', Values: names }, ...vpcFilter])));
    const missing = options.requested.filter(
      (r) =>
        !found.some(
          (s) => s.SubnetId === r || s.Tags?.some((t) => t.Key === 'Name' && t.Value === r),
        ),
    );
    if (missing.length > 0) throw new NoSubnetsError(`subnets not found: ${missing.join(', ')}`);
    return pick(found, 'the subnets annotation');
  }
  const roleTag =
    options.scheme === 'internal' ? 'kubernetes.io/role/internal-elb' : 'kubernetes.io/role/elb';
  // One tag-key filter only: moto keeps just the last of two filters with the same name.
  const tagged = await describe(ec2, [{ Name: 'tag-key', Values: [roleTag] }, ...vpcFilter]);
  const cluster = clusterTag(options.clusterName);
  // A role tag set to "0" opts a subnet out (the AWS Load Balancer Controller reads it so too).
  const usable = tagged.filter(
    (s) =>
      s.Tags?.some((t) => t.Key === cluster) &&
      s.Tags.find((t) => t.Key === roleTag)?.Value !== '0',
  );
  return pick(usable, `subnets tagged ${roleTag} and ${clusterTag(options.clusterName)}`);
}

async function describe(ec2: EC2Client, filters: Filter[]): Promise<Subnet[]> {
  const out: Subnet[] = [];
  let NextToken: string | undefined;
  do {
    const page = await ec2.send(new DescribeSubnetsCommand({ Filters: filters, NextToken }));
    out.push(...(page.Subnets ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return out;
}

/** One subnet per zone, the lowest ID, so every sync picks the same set. */
function pick(subnets: readonly Subnet[], what: string): SubnetChoice {
  if (subnets.length === 0) throw new NoSubnetsError(`no subnets found: ${what}`);
  const vpcs = new Set(subnets.map((s) => s.VpcId));
  if (vpcs.size > 1) throw new NoSubnetsError(`${what} span several VPCs: ${[...vpcs].join(', ')}`);
  const byZone = new Map<string, string>();
  for (const s of [...subnets].sort((a, b) => (a.SubnetId ?? '').localeCompare(b.SubnetId ?? ''))) {
    const zone = s.AvailabilityZone ?? s.AvailabilityZoneId ?? '';
    if (!byZone.has(zone) && s.SubnetId) byZone.set(zone, s.SubnetId);
  }
  const subnetIds = [...byZone.values()].sort();
  const cidrBlocks = Object.fromEntries(
    subnets
      .filter((s) => subnetIds.includes(s.SubnetId!))
      .map((s) => [s.SubnetId!, s.CidrBlock ?? '']),
  );
  return { subnetIds, vpcId: subnets[0]!.VpcId!, cidrBlocks };
}
