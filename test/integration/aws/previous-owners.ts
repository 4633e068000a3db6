/**
 * Builds on moto, for one Service, the NLB cloud-provider-aws or aws-load-balancer-controller
 * would have built, call for call as their source makes it: names, tags (on the NLB, target
 * groups and listeners), health checks, listener actions, security groups and node rules. The
 * starting point of the adoption tests. Read from:
 *
 * - kubernetes/cloud-provider-aws 63ec440c3275321b55afa45480e2fdfd2b0e93c4:
 *   pkg/providers/v1/aws_loadbalancer.go (ensureLoadBalancerv2, createListenerV2,
 *   ensureTargetGroup, buildTargetGroupName, updateInstanceSecurityGroupsForNLB and
 *   updateInstanceSecurityGroupForNLBMTU), pkg/providers/v1/aws.go (EnsureLoadBalancer,
 *   buildNLBHealthCheckConfiguration, ensureNLBSecurityGroup, GetSecurityGroupNameForNLB,
 *   createSecurityGroupRules, the NLB*RuleDescription constants), pkg/providers/v1/tags.go.
 * - kubernetes-sigs/aws-load-balancer-controller 225f44568848eb25f13e304a5f1cc68c0cd9415d:
 *   pkg/service/model_build_{load_balancer,managed_sg,target_group,listener}.go,
 *   pkg/deploy/tracking/provider.go (stack/resource tags), pkg/deploy/elbv2/listener_utils.go
 *   (ForwardConfig under WeightedTargetGroups, on by default: pkg/config/feature_gates.go),
 *   pkg/deploy/elbv2/target_group_manager.go, pkg/networking/backend_sg_provider.go and
 *   networking_manager.go (the rules a TargetGroupBinding's networking adds to the nodes).
 */
import { createHash } from 'node:crypto';
import { DescribeSecurityGroupsCommand, DescribeSubnetsCommand } from '@aws-sdk/client-ec2';
import type { LoadBalancer } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { V1Service } from '@kubernetes/client-node';
import type { SeededAccount } from '../../support/moto.js';
import {
  authorize,
  cidrRule,
  createInstanceTargetGroup,
  createListener,
  createNlb,
  createSecurityGroup,
  withClients,
} from './nlb-builders.js';

export interface PreviousNlb {
  readonly arn: string;
  readonly dnsName: string;
  readonly name: string;
  readonly targetGroupArns: string[];
}

const alnum = (s: string) => s.replace(/[^A-Za-z0-9]/g, '');
const hex = (algo: string, parts: readonly (string | number)[]) => {
  const h = createHash(algo);
  for (const p of parts) h.update(String(p));
  return h.digest('hex');
};
/** Both projects' `k8s-%.8s-%.8s-%.10s` of the sanitized namespace, name and a hash. */
const k8sName = (service: V1Service, hash: string) =>
  `k8s-${alnum(service.metadata!.namespace!).slice(0, 8)}-${alnum(service.metadata!.name!).slice(0, 8)}-${hash.slice(0, 10)}`;
/** The managed NLB group's name: ALBC's buildManagedSecurityGroupName, copied by cloud-provider-aws. */
const managedGroupName = (clusterName: string, service: V1Service) => {
  const m = service.metadata!;
  return k8sName(service, hex('sha256', [clusterName, m.name!, m.namespace!, m.uid!]));
};
const managedGroupDescription = '[k8s] Managed SecurityGroup for LoadBalancer';
/** The Service's source ranges, else everywhere: servicehelpers and buildCIDRsFromSourceRanges. */
const clientCidrs = (service: V1Service) =>
  service.spec!.loadBalancerSourceRanges?.length
    ? service.spec!.loadBalancerSourceRanges
    : ['0.0.0.0/0'];

const previousNlb = (lb: LoadBalancer, targetGroupArns: string[]): PreviousNlb => ({
  arn: lb.LoadBalancerArn!,
  dnsName: lb.DNSName!,
  name: lb.LoadBalancerName!,
  targetGroupArns,
});

/**
 * buildNLBHealthCheckConfiguration for externalTrafficPolicy Cluster (probe mode ServiceNodePort,
 * the default): TCP on the traffic port every 30 s, thresholds 3. The timeout is not sent
 * ("currently not configurable"); the interval is in the target group's name.
 */
const legacyHealthCheck = { protocol: 'TCP', port: 'traffic-port', interval: 30, threshold: 3 };

export interface CloudProviderAwsOptions {
  /** Its cloud-config's NLBSecurityGroupMode: `Managed` gives the NLB a group of its own. */
  readonly nlbSecurityGroupMode?: 'Managed';
}

/**
 * As cloud-provider-aws's EnsureLoadBalancer for an `nlb` Service: NLB `a` + UID without dashes
 * (32 characters), without security groups unless NLBSecurityGroupMode is Managed; per port an
 * instance target group named from sha1 of the cluster ID, namespace, name, port, node port,
 * protocol, target type, health check protocol and interval, and a listener, all tagged as the
 * NLB; then the node group rules: client (source ranges), health (the NLB's subnets, only when
 * the client rule does not cover it) and path-MTU (ICMP 3/4 per client CIDR).
 */
export function buildCloudProviderAwsNlb(
  clusterName: string,
  account: SeededAccount,
  service: V1Service,
  options: CloudProviderAwsOptions = {},
): Promise<PreviousNlb> {
  return withClients(async ({ elb, ec2 }) => {
    const { namespace: ns, name: svc, uid } = service.metadata!;
    // buildTags(owned, { service-name }): no legacy KubernetesCluster tag on a current cluster.
    const owned = {
      'kubernetes.io/service-name': `${ns}/${svc}`,
      [`kubernetes.io/cluster/${clusterName}`]: 'owned',
    };
    const name = `a${uid!.replace(/-/g, '')}`.slice(0, 32);
    const cidrs = clientCidrs(service);
    const ports = service.spec!.ports!;
    let securityGroups: string[] | undefined;
    if (options.nlbSecurityGroupMode === 'Managed') {
      const groupId = await createSecurityGroup(
        ec2,
        account.vpcId,
        managedGroupName(clusterName, service),
        managedGroupDescription,
        { [`kubernetes.io/cluster/${clusterName}`]: 'owned' },
      );
      securityGroups = [groupId];
    }
    const lb = await createNlb(
      elb,
      { name, subnets: account.publicSubnets, securityGroups },
      owned,
    );
    const hc = legacyHealthCheck;
    const targetGroupArns: string[] = [];
    for (const port of ports) {
      const arn = await createInstanceTargetGroup(elb, account, {
        name: k8sName(
          service,
          hex('sha1', [
            clusterName,
            ns!,
            svc!,
            port.port,
            port.nodePort!,
            'TCP',
            'instance',
            hc.protocol,
            hc.interval,
          ]),
        ),
        nodePort: port.nodePort!,
        healthCheck: {
          HealthCheckIntervalSeconds: hc.interval,
          HealthCheckPort: hc.port,
          HealthCheckProtocol: hc.protocol,
          HealthyThresholdCount: hc.threshold,
          UnhealthyThresholdCount: hc.threshold,
        },
        tags: owned,
      });
      targetGroupArns.push(arn);
      await createListener(
        elb,
        lb.LoadBalancerArn!,
        port,
        { Type: 'forward', TargetGroupArn: arn },
        owned,
      );
    }
    if (securityGroups) {
      // ensureNLBSecurityGroupRules: the listener ports and ICMP 3/4 from the source ranges.
      await authorize(ec2, securityGroups[0]!, [
        ...ports.map((p) => cidrRule('tcp', p.port, p.port, cidrs)),
        cidrRule('icmp', 3, 4, cidrs),
      ]);
    }
    // updateInstanceSecurityGroupsForNLB: one call per rule kind, as it grants them.
    const nodePorts = ports.map((p) => p.nodePort!);
    // The client rule covers health checks when it is 0.0.0.0/0 on the same TCP ports (the
    // health check here is on the traffic port).
    const covered = cidrs.length === 1 && cidrs[0] === '0.0.0.0/0';
    if (!covered) {
      // getSubnetCidrs of the NLB's subnets: health checks come from its addresses there.
      const subnetIds = (lb.AvailabilityZones ?? []).map((z) => z.SubnetId!);
      const subnets = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: subnetIds }));
      const subnetCidrs = (subnets.Subnets ?? []).map((n) => n.CidrBlock!);
      await authorize(
        ec2,
        account.nodeSecurityGroupId,
        nodePorts.map((p) =>
          cidrRule('tcp', p, p, subnetCidrs, `kubernetes.io/rule/nlb/health=${name}`),
        ),
      );
    }
    await authorize(
      ec2,
      account.nodeSecurityGroupId,
      nodePorts.map((p) => cidrRule('tcp', p, p, cidrs, `kubernetes.io/rule/nlb/client=${name}`)),
    );
    // One per client CIDR of any of its NLBs in the group: granted only where missing.
    const node = await ec2.send(
      new DescribeSecurityGroupsCommand({ GroupIds: [account.nodeSecurityGroupId] }),
    );
    const mtuCidrs = new Set(
      (node.SecurityGroups?.[0]?.IpPermissions ?? [])
        .filter((p) => p.IpProtocol === 'icmp')
        .flatMap((p) => (p.IpRanges ?? []).map((r) => r.CidrIp)),
    );
    const missing = cidrs.filter((c) => !mtuCidrs.has(c));
    if (missing.length > 0) {
      await authorize(ec2, account.nodeSecurityGroupId, [
        cidrRule('icmp', 3, 4, missing, 'kubernetes.io/rule/nlb/mtu'),
      ]);
    }
    return previousNlb(lb, targetGroupArns);
  });
}

/**
 * As aws-load-balancer-controller (instance targets, internet-facing by annotation, NLB security
 * groups and the shared backend group on: its defaults): NLB
 * `k8s-<ns:8>-<name:8>-<sha256(cluster, UID, scheme):10>` holding its managed frontend group and
 * the cluster's backend group; per port a target group named from sha256 of cluster, UID, node
 * port, port, target type, protocol, health check protocol and interval, and a listener
 * forwarding by ForwardConfig; each tagged with the stack, the cluster and its resource ID; and
 * the node group admitting the backend group on the node ports (the TargetGroupBinding's
 * networking: `from: [{securityGroup: backend}], ports: [{protocol: TCP, port: <node port>}]`).
 */
export function buildLoadBalancerControllerNlb(
  clusterName: string,
  account: SeededAccount,
  service: V1Service,
): Promise<PreviousNlb & { backendGroupId: string; frontendGroupId: string }> {
  return withClients(async ({ elb, ec2 }) => {
    const { namespace: ns, name: svc, uid } = service.metadata!;
    const tagsOf = (resource: string) => ({
      'elbv2.k8s.aws/cluster': clusterName,
      'service.k8s.aws/stack': `${ns}/${svc}`,
      'service.k8s.aws/resource': resource,
    });
    const scheme = 'internet-facing';
    const cidrs = clientCidrs(service);
    const ports = service.spec!.ports!;
    const frontendGroupId = await createSecurityGroup(
      ec2,
      account.vpcId,
      managedGroupName(clusterName, service),
      managedGroupDescription,
      tagsOf('ManagedLBSecurityGroup'),
    );
    await authorize(
      ec2,
      frontendGroupId,
      ports.flatMap((p) =>
        cidrs.map((c) => cidrRule(p.protocol!.toLowerCase(), p.port, p.port, [c])),
      ),
    );
    const backendGroupId = await createSecurityGroup(
      ec2,
      account.vpcId,
      `k8s-traffic-${alnum(clusterName).slice(0, 232)}-${hex('sha256', [clusterName]).slice(0, 10)}`,
      '[k8s] Shared Backend SecurityGroup for LoadBalancer',
      { 'elbv2.k8s.aws/cluster': clusterName, 'elbv2.k8s.aws/resource': 'backend-sg' },
    );
    const lb = await createNlb(
      elb,
      {
        name: k8sName(service, hex('sha256', [clusterName, uid!, scheme])),
        subnets: account.publicSubnets,
        securityGroups: [frontendGroupId, backendGroupId],
        ipv4: true, // sent always (buildSDKCreateLoadBalancerInput); cloud-provider-aws never
      },
      tagsOf('LoadBalancer'),
    );
    const targetGroupArns: string[] = [];
    for (const port of ports) {
      const hc = { protocol: 'TCP', interval: 10 };
      const arn = await createInstanceTargetGroup(elb, account, {
        name: k8sName(
          service,
          hex('sha256', [
            clusterName,
            uid!,
            port.nodePort!,
            port.port,
            'instance',
            'TCP',
            hc.protocol,
            hc.interval,
          ]),
        ),
        nodePort: port.nodePort!,
        healthCheck: {
          HealthCheckEnabled: true,
          HealthCheckPort: 'traffic-port',
          HealthCheckProtocol: hc.protocol,
          HealthCheckIntervalSeconds: hc.interval,
          HealthCheckTimeoutSeconds: 10,
          HealthyThresholdCount: 3,
          UnhealthyThresholdCount: 3,
        },
        tags: tagsOf(`${ns}/${svc}:${port.port}`),
      });
      targetGroupArns.push(arn);
      await createListener(
        elb,
        lb.LoadBalancerArn!,
        port,
        { Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: arn }] } },
        tagsOf(String(port.port)),
      );
      await authorize(ec2, account.nodeSecurityGroupId, [
        {
          IpProtocol: 'tcp',
          FromPort: port.nodePort!,
          ToPort: port.nodePort!,
          UserIdGroupPairs: [
            { GroupId: backendGroupId, Description: 'elbv2.k8s.aws/targetGroupBinding=shared' },
          ],
        },
      ]);
    }
    return { ...previousNlb(lb, targetGroupArns), backendGroupId, frontendGroupId };
  });
}
