/**
 * What the AWS account holds, read back with describe calls and flattened into plain data the
 * tests compare with `deepStrictEqual`: after every test the inventory must be exactly what the
 * live Services ask for, so anything leaked or left over fails the test.
 */
import {
  DescribeListenersCommand,
  DescribeLoadBalancerAttributesCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  type LoadBalancer,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeSecurityGroupsCommand, EC2Client, type SecurityGroup } from '@aws-sdk/client-ec2';

export interface LoadBalancerInventory {
  name: string;
  scheme: string;
  ipAddressType: string;
  crossZone: string;
  /** access_logs.s3.enabled, bucket and prefix as DescribeLoadBalancerAttributes lists them. */
  accessLogs: { enabled: string; bucket: string; prefix: string };
  subnets: string[];
  /** By name (the ID where the group is gone). */
  securityGroups: string[];
  tags: Record<string, string>;
  /** `80/TCP -> k8s-...` */
  listeners: string[];
  /** TLS listeners: `443 <certificate ARN> <security policy>` */
  tls: string[];
}

export interface TargetGroupInventory {
  name: string;
  protocol: string;
  port: number;
  healthCheck: string;
  targets: string[];
  attached: boolean;
  tags: Record<string, string>;
  /** As DescribeTargetGroupAttributes lists them (moto lists fewer keys than AWS). */
  attributes: Record<string, string>;
}

export interface SecurityGroupInventory {
  name: string;
  /** `tcp/80 from 10.0.0.0/8`, `tcp/30000-32767 from <group name>` */
  ingress: string[];
  tags: Record<string, string>;
}

export interface Inventory {
  loadBalancers: LoadBalancerInventory[];
  targetGroups: TargetGroupInventory[];
  securityGroups: SecurityGroupInventory[];
}

/** Raw SDK clients (not through the provider's gate): the tests' own eyes on the account. */
/**
 * The account as one snapshot. It is read call by call, so a resource the controller deletes
 * between a list and a describe answers NotFound: then the whole read starts again.
 */
export async function readInventory(): Promise<Inventory> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await readInventoryOnce();
    } catch (err) {
      if (attempt >= 5 || !/NotFound/.test((err as Error).name)) throw err;
    }
  }
}

async function readInventoryOnce(): Promise<Inventory> {
  const elb = new ElasticLoadBalancingV2Client({});
  const ec2 = new EC2Client({});
  try {
    const tagsOf = async (arn: string) => {
      const out = await elb.send(new DescribeTagsCommand({ ResourceArns: [arn] }));
      return Object.fromEntries(
        (out.TagDescriptions?.[0]?.Tags ?? []).map((t) => [t.Key!, t.Value ?? '']),
      );
    };
    const groups: SecurityGroup[] = [];
    let NextToken: string | undefined;
    do {
      const page = await ec2.send(new DescribeSecurityGroupsCommand({ NextToken }));
      groups.push(...(page.SecurityGroups ?? []));
      NextToken = page.NextToken;
    } while (NextToken);
    const groupName = new Map(groups.map((g) => [g.GroupId!, g.GroupName!]));
    const lbs: LoadBalancer[] = [];
    let Marker: string | undefined;
    do {
      const page = await elb.send(new DescribeLoadBalancersCommand({ Marker }));
      lbs.push(...(page.LoadBalancers ?? []));
      Marker = page.NextMarker;
    } while (Marker);
    const tgs: TargetGroup[] = [];
    do {
      const page = await elb.send(new DescribeTargetGroupsCommand({ Marker }));
      tgs.push(...(page.TargetGroups ?? []));
      Marker = page.NextMarker;
    } while (Marker);
    const tgName = new Map(tgs.map((tg) => [tg.TargetGroupArn!, tg.TargetGroupName!]));
    // Attached means a listener forwards to it. Not tg.LoadBalancerArns: moto adds to that list on
    // CreateListener only, never on ModifyListener, and never removes from it.
    const forwardedTo = new Set<string>();
    const loadBalancers: LoadBalancerInventory[] = [];
    for (const lb of lbs) {
      const listeners =
        (await elb.send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn })))
          .Listeners ?? [];
      for (const l of listeners)
        for (const a of l.DefaultActions ?? [])
          if (a.TargetGroupArn) forwardedTo.add(a.TargetGroupArn);
      const attrs = await elb.send(
        new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: lb.LoadBalancerArn }),
      );
      loadBalancers.push({
        name: lb.LoadBalancerName!,
        scheme: lb.Scheme!,
        ipAddressType: lb.IpAddressType ?? 'ipv4',
        crossZone:
          attrs.Attributes?.find((a) => a.Key === 'load_balancing.cross_zone.enabled')?.Value ??
          'false',
        accessLogs: {
          enabled:
            attrs.Attributes?.find((a) => a.Key === 'access_logs.s3.enabled')?.Value ?? 'false',
          bucket: attrs.Attributes?.find((a) => a.Key === 'access_logs.s3.bucket')?.Value ?? '',
          prefix: attrs.Attributes?.find((a) => a.Key === 'access_logs.s3.prefix')?.Value ?? '',
        },
        subnets: (lb.AvailabilityZones ?? []).map((z) => z.SubnetId!).sort(),
        securityGroups: (lb.SecurityGroups ?? []).map((id) => groupName.get(id) ?? id).sort(),
        tags: await tagsOf(lb.LoadBalancerArn!),
        listeners: listeners
          .map(
            (l) =>
              `${l.Port}/${l.Protocol} -> ${tgName.get(l.DefaultActions?.[0]?.TargetGroupArn ?? '') ?? '?'}`,
          )
          .sort(),
        tls: listeners
          .filter((l) => l.Protocol === 'TLS')
          .map((l) => `${l.Port} ${l.Certificates?.[0]?.CertificateArn} ${l.SslPolicy}`)
          .sort(),
      });
    }
    const targetGroups: TargetGroupInventory[] = [];
    for (const tg of tgs) {
      const health = await elb.send(
        new DescribeTargetHealthCommand({ TargetGroupArn: tg.TargetGroupArn }),
      );
      const hc = [
        tg.HealthCheckProtocol,
        tg.HealthCheckPort,
        tg.HealthCheckProtocol === 'TCP' ? '' : tg.HealthCheckPath,
      ];
      targetGroups.push({
        name: tg.TargetGroupName!,
        protocol: tg.Protocol!,
        port: tg.Port!,
        healthCheck: `${hc.filter(Boolean).join(' ')} every ${tg.HealthCheckIntervalSeconds}s`,
        targets: (health.TargetHealthDescriptions ?? [])
          .filter((d) => d.TargetHealth?.State !== 'draining')
          .map((d) => `${d.Target!.Id}:${d.Target!.Port}`)
          .sort(),
        attached: forwardedTo.has(tg.TargetGroupArn!),
        tags: await tagsOf(tg.TargetGroupArn!),
        attributes: Object.fromEntries(
          (
            (
              await elb.send(
                new DescribeTargetGroupAttributesCommand({ TargetGroupArn: tg.TargetGroupArn }),
              )
            ).Attributes ?? []
          ).map((a) => [a.Key!, a.Value ?? '']),
        ),
      });
    }
    const ports = (p: { FromPort?: number; ToPort?: number }) =>
      p.FromPort === p.ToPort ? `${p.FromPort}` : `${p.FromPort}-${p.ToPort}`;
    const securityGroups: SecurityGroupInventory[] = groups
      .filter((g) => g.GroupName !== 'default')
      .map((g) => ({
        name: g.GroupName!,
        ingress: (g.IpPermissions ?? [])
          .flatMap((p) => [
            ...(p.IpRanges ?? []).map((r) => `${p.IpProtocol}/${ports(p)} from ${r.CidrIp}`),
            ...(p.Ipv6Ranges ?? []).map((r) => `${p.IpProtocol}/${ports(p)} from ${r.CidrIpv6}`),
            ...(p.UserIdGroupPairs ?? []).map(
              (r) => `${p.IpProtocol}/${ports(p)} from ${groupName.get(r.GroupId!) ?? r.GroupId}`,
            ),
          ])
          .sort(),
        tags: Object.fromEntries((g.Tags ?? []).map((t) => [t.Key!, t.Value ?? ''])),
      }));
    const byName = <T extends { name: string }>(a: T, b: T) => a.name.localeCompare(b.name);
    return {
      loadBalancers: loadBalancers.sort(byName),
      targetGroups: targetGroups.sort(byName),
      securityGroups: securityGroups.sort(byName),
    };
  } finally {
    elb.destroy();
    ec2.destroy();
  }
}
