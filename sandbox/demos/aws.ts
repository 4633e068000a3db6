/**
 * The AWS provider against an AWS API emulator: `AWS_ENDPOINT_URL` when it is set (a moto, a
 * LocalStack with ELBv2), else a `moto_server` started here on a free loopback port when one is
 * installed (`pip install 'moto[server]'`). The sandbox seeds what a cluster's account holds: a
 * VPC, subnets in two zones tagged for load balancers and the cluster, the nodes' security group,
 * and one running instance behind each node's providerID, so the sample Service gets an NLB.
 */
import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  EC2Client,
  RunInstancesCommand,
  type Tag,
} from '@aws-sdk/client-ec2';
import { startMotoServer, type MotoServer } from '../moto-server.js';
import { sandboxNodes, type DemoSetup } from './types.js';

const ZONES = ['us-east-1a', 'us-east-1b'];

export const awsDemo: DemoSetup = async (ctx) => {
  let endpoint = process.env.AWS_ENDPOINT_URL;
  let moto: MotoServer | undefined;
  if (!endpoint) {
    moto = await startMotoServer().catch((err: unknown) => {
      throw new Error(
        '--cloud-provider aws needs AWS_ENDPOINT_URL (a moto or LocalStack) or moto_server installed',
        { cause: err },
      );
    });
    endpoint = moto.url;
    ctx.say(
      `provider aws: started moto_server at ${endpoint} (set AWS_ENDPOINT_URL to use another)`,
    );
  } else {
    ctx.say(`provider aws: AWS API at AWS_ENDPOINT_URL=${endpoint}`);
  }
  // An emulator takes any credentials; a user's own (or a profile) are left as they are.
  if (!process.env.AWS_ACCESS_KEY_ID && !process.env.AWS_PROFILE) {
    process.env.AWS_ACCESS_KEY_ID = 'sandbox';
    process.env.AWS_SECRET_ACCESS_KEY = 'sandbox';
  }
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ENDPOINT_URL = endpoint;
  try {
    const account = await seed(ctx.clusterName);
    ctx.say(
      `seeded ${account.vpcId}: subnets ${account.subnets.join(', ')}, instances ${account.instances.map((i) => i.id).join(', ')}`,
    );
    return {
      cloudConfig: { vpcId: account.vpcId },
      nodes: sandboxNodes(
        (i) => `10.0.${10 + (i % 2)}.${10 + i}`,
        (_name, i) => `aws:///${account.instances[i - 1]!.zone}/${account.instances[i - 1]!.id}`,
      ),
      carriesTraffic: false,
      close: async () => moto?.stop(),
    };
  } catch (err) {
    await moto?.stop();
    throw new Error(`seeding the AWS account at ${endpoint}`, { cause: err });
  }
};

async function seed(clusterName: string) {
  const ec2 = new EC2Client({ region: process.env.AWS_REGION });
  const clusterTag: Tag = { Key: `kubernetes.io/cluster/${clusterName}`, Value: 'shared' };
  const tags = (ResourceType: 'subnet' | 'security-group' | 'vpc', ...extra: Tag[]) => [
    { ResourceType, Tags: [clusterTag, ...extra] },
  ];
  try {
    const vpc = await ec2.send(
      new CreateVpcCommand({
        CidrBlock: '10.0.0.0/16',
        TagSpecifications: tags('vpc', { Key: 'Name', Value: `kube-lbc-${clusterName}` }),
      }),
    );
    const vpcId = vpc.Vpc!.VpcId!;
    const subnets: string[] = [];
    for (const [i, zone] of ZONES.entries()) {
      const out = await ec2.send(
        new CreateSubnetCommand({
          VpcId: vpcId,
          CidrBlock: `10.0.${10 + i}.0/24`,
          AvailabilityZone: zone,
          TagSpecifications: tags('subnet', { Key: 'kubernetes.io/role/elb', Value: '1' }),
        }),
      );
      subnets.push(out.Subnet!.SubnetId!);
    }
    const group = await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: `${clusterName}-nodes`,
        Description: 'sandbox nodes',
        VpcId: vpcId,
        TagSpecifications: [
          { ResourceType: 'security-group', Tags: [{ ...clusterTag, Value: 'owned' }] },
        ],
      }),
    );
    const instances: { id: string; zone: string }[] = [];
    for (let i = 0; i < 3; i++) {
      const out = await ec2.send(
        new RunInstancesCommand({
          ImageId: 'ami-12c6146b',
          MinCount: 1,
          MaxCount: 1,
          InstanceType: 't3.small',
          SubnetId: subnets[i % 2],
          SecurityGroupIds: [group.GroupId!],
        }),
      );
      instances.push({ id: out.Instances![0]!.InstanceId!, zone: ZONES[i % 2]! });
    }
    return { vpcId, subnets, instances };
  } finally {
    ec2.destroy();
  }
}
