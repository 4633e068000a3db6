/**
 * Builds on moto, for one Service, the NLB cloud-provider-aws or aws-load-balancer-controller
 * would have built: their names, tags, target groups, health checks and node rules, as their
 * source derives them (cloud-provider-aws pkg/providers/v1/aws_loadbalancer.go and aws.go;
 * aws-load-balancer-controller pkg/service/model_build_load_balancer.go and
 * model_build_target_group.go, with its shared backend security group). The starting point of
 * the adoption tests.
 */
import { createHash } from 'node:crypto';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { V1Service } from '@kubernetes/client-node';
import type { SeededAccount } from '../../support/moto.js';

export interface PreviousNlb {
  readonly arn: string;
  readonly dnsName: string;
  readonly name: string;
  readonly targetGroupArns: string[];
}

const alnum = (s: string) => s.replace(/[^A-Za-z0-9]/g, '');
const tags = (t: Record<string, string>) =>
  Object.entries(t).map(([Key, Value]) => ({ Key, Value }));
const hex = (algo: string, parts: string[]) => {
  const h = createHash(algo);
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

/** cloud-provider-aws's health check for an instance target group, externalTrafficPolicy Cluster. */
const legacyHealthCheck = { protocol: 'TCP', interval: 10, timeout: 10, healthy: 3, unhealthy: 3 };

/**
 * As cloud-provider-aws's ensureLoadBalancerv2: NLB `a` + UID without dashes (32 characters),
 * no security groups, one instance target group per port named from sha1 of the cluster ID,
 * namespace, name, port, node port, protocol, target type and health check, and node group
 * rules for client traffic and health checks marked by description.
 */
export async function buildCloudProviderAwsNlb(
  clusterName: string,
  account: SeededAccount,
  service: V1Service,
): Promise<PreviousNlb> {
  const elb = new ElasticLoadBalancingV2Client({});
  const ec2 = new EC2Client({});
  try {
    const ns = service.metadata!.namespace!;
    const svc = service.metadata!.name!;
    const owned = {
      [`kubernetes.io/cluster/${clusterName}`]: 'owned',
      'kubernetes.io/service-name': `${ns}/${svc}`,
    };
    const name = `a${service.metadata!.uid!.replace(/-/g, '')}`.slice(0, 32);
    const lb = (
      await elb.send(
        new CreateLoadBalancerCommand({
          Name: name,
          Type: 'network',
          Scheme: 'internet-facing',
          Subnets: account.publicSubnets,
          Tags: tags(owned),
        }),
      )
    ).LoadBalancers![0]!;
    const targetGroupArns: string[] = [];
    for (const port of service.spec!.ports!) {
      const hc = legacyHealthCheck;
      const uuid = hex('sha1', [
        clusterName,
        ns,
        svc,
        String(port.port),
        String(port.nodePort),
        'TCP',
        'instance',
        hc.protocol,
        String(hc.interval),
      ]);
      const tg = (
        await elb.send(
          new CreateTargetGroupCommand({
            Name: `k8s-${alnum(ns).slice(0, 8)}-${alnum(svc).slice(0, 8)}-${uuid.slice(0, 10)}`,
            Protocol: 'TCP',
            Port: port.nodePort!,
            VpcId: account.vpcId,
            TargetType: 'instance',
            HealthCheckProtocol: hc.protocol as 'TCP',
            HealthCheckPort: 'traffic-port',
            HealthCheckIntervalSeconds: hc.interval,
            HealthCheckTimeoutSeconds: hc.timeout,
            HealthyThresholdCount: hc.healthy,
            UnhealthyThresholdCount: hc.unhealthy,
            Tags: tags(owned),
          }),
        )
      ).TargetGroups![0]!;
      targetGroupArns.push(tg.TargetGroupArn!);
      await elb.send(
        new RegisterTargetsCommand({
          TargetGroupArn: tg.TargetGroupArn,
          Targets: account.instances.map((i) => ({ Id: i.id, Port: port.nodePort! })),
        }),
      );
      await elb.send(
        new CreateListenerCommand({
          LoadBalancerArn: lb.LoadBalancerArn,
          Port: port.port,
          Protocol: 'TCP',
          DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.TargetGroupArn }],
        }),
      );
      // Clients (the Service's source ranges) and health checks (the VPC) on the node port.
      await ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: account.nodeSecurityGroupId,
          IpPermissions: [
            {
              IpProtocol: 'tcp',
              FromPort: port.nodePort!,
              ToPort: port.nodePort!,
              IpRanges: [
                { CidrIp: '0.0.0.0/0', Description: `kubernetes.io/rule/nlb/client=${name}` },
                { CidrIp: '10.0.0.0/16', Description: `kubernetes.io/rule/nlb/health=${name}` },
              ],
            },
          ],
        }),
      );
    }
    return { arn: lb.LoadBalancerArn!, dnsName: lb.DNSName!, name, targetGroupArns };
  } finally {
    elb.destroy();
    ec2.destroy();
  }
}

/**
 * As aws-load-balancer-controller (v2.6+, instance targets, internet-facing by annotation): NLB
 * `k8s-<ns:8>-<name:8>-<sha256(cluster, UID, scheme):10>` holding its managed frontend group and
 * the cluster's shared backend group, one target group per port named from sha256 of cluster,
 * UID, port and target settings, the stack/resource/cluster tags on each, and the node group
 * admitting the backend group on the node ports (what its TargetGroupBindings add).
 */
export async function buildLoadBalancerControllerNlb(
  clusterName: string,
  account: SeededAccount,
  service: V1Service,
): Promise<PreviousNlb & { backendGroupId: string; frontendGroupId: string }> {
  const elb = new ElasticLoadBalancingV2Client({});
  const ec2 = new EC2Client({});
  try {
    const ns = service.metadata!.namespace!;
    const svc = service.metadata!.name!;
    const uid = service.metadata!.uid!;
    const stack = {
      'service.k8s.aws/stack': `${ns}/${svc}`,
      'elbv2.k8s.aws/cluster': clusterName,
    };
    const short = (hash: string) =>
      `k8s-${alnum(ns).slice(0, 8)}-${alnum(svc).slice(0, 8)}-${hash.slice(0, 10)}`;
    const name = short(hex('sha256', [clusterName, uid, 'internet-facing']));
    const frontendGroupId = (
      await ec2.send(
        new CreateSecurityGroupCommand({
          GroupName: name,
          Description: '[k8s] Managed SecurityGroup for LoadBalancer',
          VpcId: account.vpcId,
          TagSpecifications: [
            {
              ResourceType: 'security-group',
              Tags: tags({ ...stack, 'service.k8s.aws/resource': 'ManagedLBSecurityGroup' }),
            },
          ],
        }),
      )
    ).GroupId!;
    const backendGroupId = (
      await ec2.send(
        new CreateSecurityGroupCommand({
          GroupName: `k8s-traffic-${alnum(clusterName).slice(0, 20)}-${hex('sha256', [clusterName]).slice(0, 10)}`,
          Description: '[k8s] Shared Backend SecurityGroup for LoadBalancer',
          VpcId: account.vpcId,
          TagSpecifications: [
            {
              ResourceType: 'security-group',
              Tags: tags({
                'elbv2.k8s.aws/cluster': clusterName,
                'elbv2.k8s.aws/resource': 'backend-sg',
              }),
            },
          ],
        }),
      )
    ).GroupId!;
    const lb = (
      await elb.send(
        new CreateLoadBalancerCommand({
          Name: name,
          Type: 'network',
          Scheme: 'internet-facing',
          Subnets: account.publicSubnets,
          SecurityGroups: [frontendGroupId, backendGroupId],
          Tags: tags({ ...stack, 'service.k8s.aws/resource': 'LoadBalancer' }),
        }),
      )
    ).LoadBalancers![0]!;
    const targetGroupArns: string[] = [];
    for (const port of service.spec!.ports!) {
      await ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: frontendGroupId,
          IpPermissions: [
            {
              IpProtocol: 'tcp',
              FromPort: port.port,
              ToPort: port.port,
              IpRanges: [{ CidrIp: '0.0.0.0/0' }],
            },
          ],
        }),
      );
      const tg = (
        await elb.send(
          new CreateTargetGroupCommand({
            Name: short(
              hex('sha256', [
                clusterName,
                uid,
                String(port.port),
                String(port.nodePort),
                'instance',
                'TCP',
                'traffic-port',
                'TCP',
              ]),
            ),
            Protocol: 'TCP',
            Port: port.nodePort!,
            VpcId: account.vpcId,
            TargetType: 'instance',
            HealthCheckProtocol: 'TCP',
            HealthCheckPort: 'traffic-port',
            HealthCheckIntervalSeconds: 10,
            HealthCheckTimeoutSeconds: 10,
            HealthyThresholdCount: 3,
            UnhealthyThresholdCount: 3,
            Tags: tags({ ...stack, 'service.k8s.aws/resource': String(port.port) }),
          }),
        )
      ).TargetGroups![0]!;
      targetGroupArns.push(tg.TargetGroupArn!);
      await elb.send(
        new RegisterTargetsCommand({
          TargetGroupArn: tg.TargetGroupArn,
          Targets: account.instances.map((i) => ({ Id: i.id, Port: port.nodePort! })),
        }),
      );
      await elb.send(
        new CreateListenerCommand({
          LoadBalancerArn: lb.LoadBalancerArn,
          Port: port.port,
          Protocol: 'TCP',
          DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.TargetGroupArn }],
        }),
      );
      await ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: account.nodeSecurityGroupId,
          IpPermissions: [
            {
              IpProtocol: 'tcp',
              FromPort: port.nodePort!,
              ToPort: port.nodePort!,
              UserIdGroupPairs: [
                {
                  GroupId: backendGroupId,
                  Description: 'elbv2.k8s.aws/targetGroupBinding=shared',
                },
              ],
            },
          ],
        }),
      );
    }
    return {
      arn: lb.LoadBalancerArn!,
      dnsName: lb.DNSName!,
      name,
      targetGroupArns,
      backendGroupId,
      frontendGroupId,
    };
  } finally {
    elb.destroy();
    ec2.destroy();
  }
}
