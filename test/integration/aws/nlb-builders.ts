/**
 * The moto calls the previous-owner fixtures (previous-owners.ts) are made of, each as one of
 * those controllers sends it: an NLB on SubnetMappings, a tagged security group, ingress rules,
 * an instance target group with its targets registered, a tagged listener.
 */
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  EC2Client,
  type IpPermission,
} from '@aws-sdk/client-ec2';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
  type Action,
  type LoadBalancer,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { V1ServicePort } from '@kubernetes/client-node';
import type { SeededAccount } from '../../support/moto.js';

const awsTags = (t: Record<string, string>) =>
  Object.entries(t).map(([Key, Value]) => ({ Key, Value }));

export interface Clients {
  readonly elb: ElasticLoadBalancingV2Client;
  readonly ec2: EC2Client;
}

export async function withClients<T>(fn: (c: Clients) => Promise<T>): Promise<T> {
  const c = { elb: new ElasticLoadBalancingV2Client({}), ec2: new EC2Client({}) };
  try {
    return await fn(c);
  } finally {
    c.elb.destroy();
    c.ec2.destroy();
  }
}

/** Both create the NLB with SubnetMappings (no Subnets), one subnet per zone. */
export async function createNlb(
  elb: ElasticLoadBalancingV2Client,
  input: { name: string; subnets: string[]; securityGroups?: string[]; ipv4?: boolean },
  tags: Record<string, string>,
): Promise<LoadBalancer> {
  const out = await elb.send(
    new CreateLoadBalancerCommand({
      Name: input.name,
      Type: 'network',
      // cloud-provider-aws sends no Scheme for internet-facing (AWS's default); moto 5.2 would
      // then store none, so it is sent here for both.
      Scheme: 'internet-facing',
      ...(input.ipv4 ? { IpAddressType: 'ipv4' as const } : {}),
      SubnetMappings: input.subnets.map((SubnetId) => ({ SubnetId })),
      ...(input.securityGroups ? { SecurityGroups: input.securityGroups } : {}),
      Tags: awsTags(tags),
    }),
  );
  return out.LoadBalancers![0]!;
}

export async function createSecurityGroup(
  ec2: EC2Client,
  vpcId: string,
  name: string,
  description: string,
  tags: Record<string, string>,
): Promise<string> {
  const out = await ec2.send(
    new CreateSecurityGroupCommand({
      GroupName: name,
      Description: description,
      VpcId: vpcId,
      TagSpecifications: [{ ResourceType: 'security-group', Tags: awsTags(tags) }],
    }),
  );
  return out.GroupId!;
}

export const authorize = (ec2: EC2Client, GroupId: string, IpPermissions: IpPermission[]) =>
  ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId, IpPermissions }));

/** A rule of one port (or ICMP type/code) from each CIDR, each carrying `Description` if given. */
export const cidrRule = (
  protocol: string,
  from: number,
  to: number,
  cidrs: readonly string[],
  Description?: string,
): IpPermission => ({
  IpProtocol: protocol,
  FromPort: from,
  ToPort: to,
  IpRanges: cidrs.map((CidrIp) => ({ CidrIp, ...(Description ? { Description } : {}) })),
});

export interface TargetGroupInput {
  readonly name: string;
  readonly nodePort: number;
  readonly healthCheck: Record<string, unknown>;
  readonly tags: Record<string, string>;
}

/** A TCP instance target group on the node port, every instance registered. */
export async function createInstanceTargetGroup(
  elb: ElasticLoadBalancingV2Client,
  account: SeededAccount,
  tg: TargetGroupInput,
): Promise<string> {
  const out = await elb.send(
    new CreateTargetGroupCommand({
      Name: tg.name,
      Protocol: 'TCP',
      Port: tg.nodePort,
      VpcId: account.vpcId,
      TargetType: 'instance',
      ...tg.healthCheck,
      Tags: awsTags(tg.tags),
    }),
  );
  const arn = out.TargetGroups![0]!.TargetGroupArn!;
  await elb.send(
    new RegisterTargetsCommand({
      TargetGroupArn: arn,
      Targets: account.instances.map((i) => ({ Id: i.id, Port: tg.nodePort })),
    }),
  );
  return arn;
}

export const createListener = (
  elb: ElasticLoadBalancingV2Client,
  lbArn: string,
  port: V1ServicePort,
  action: Action,
  tags: Record<string, string>,
) =>
  elb.send(
    new CreateListenerCommand({
      LoadBalancerArn: lbArn,
      Port: port.port,
      Protocol: 'TCP',
      DefaultActions: [action],
      Tags: awsTags(tags),
    }),
  );
