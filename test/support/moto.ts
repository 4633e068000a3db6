/**
 * A moto server for integration tests: started as a child process on a free loopback port,
 * reset between tests through moto's own API, stopped at the end. When LOCALSTACK_ENDPOINT is set
 * the same helpers point at LocalStack instead (reset there is LocalStack's state reset).
 *
 * Also seeds what a cluster's AWS account would hold: a VPC, subnets in two zones tagged for
 * load balancers and the cluster, and running instances whose IDs the test nodes carry.
 */
import { startMotoServer } from '../../sandbox/moto-server.js';
import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';

export interface AwsTestEndpoint {
  readonly url: string;
  readonly kind: 'moto' | 'localstack';
  /** Forgets every resource, as a fresh account. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/** Dummy credentials and region for the SDK's env chain; nothing here is a secret. */
export function useDummyAwsEnv(url: string): void {
  process.env.AWS_ACCESS_KEY_ID = 'testing';
  process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  process.env.AWS_SESSION_TOKEN = 'testing';
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_ENDPOINT_URL = url;
  delete process.env.AWS_PROFILE;
}

export async function startAwsEndpoint(): Promise<AwsTestEndpoint> {
  const localstack = process.env.LOCALSTACK_ENDPOINT;
  if (localstack) {
    useDummyAwsEnv(localstack);
    return {
      url: localstack,
      kind: 'localstack',
      reset: () => post(`${localstack}/_localstack/state/reset`),
      stop: async () => {},
    };
  }
  const moto = await startMotoServer();
  const { url } = moto;
  useDummyAwsEnv(url);
  return {
    url,
    kind: 'moto',
    reset: () => post(`${url}/moto-api/reset`),
    stop: () => moto.stop(),
  };
}

async function post(url: string): Promise<void> {
  const res = await fetch(url, { method: 'POST' });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`POST ${url}: ${res.status}`);
}

export const nodeSecurityGroupName = 'cluster-nodes';

export interface SeededAccount {
  readonly vpcId: string;
  /** Public subnets tagged kubernetes.io/role/elb, one per zone (a, b). */
  readonly publicSubnets: string[];
  /** Private subnets tagged kubernetes.io/role/internal-elb, one per zone. */
  readonly privateSubnets: string[];
  /** The nodes' security group, tagged with the cluster tag; every instance is in it. */
  readonly nodeSecurityGroupId: string;
  /** Running instances, to put in nodes' providerIDs. */
  readonly instances: { id: string; zone: string }[];
}

/** A VPC with tagged subnets in two zones and `instanceCount` running instances. */
export async function seedAccount(clusterName: string, instanceCount = 4): Promise<SeededAccount> {
  const ec2 = new EC2Client({});
  try {
    const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
    const vpcId = vpc.Vpc!.VpcId!;
    const subnet = async (cidr: string, zone: string, role: string) => {
      const out = await ec2.send(
        new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: cidr, AvailabilityZone: zone }),
      );
      const id = out.Subnet!.SubnetId!;
      await ec2.send(
        new CreateTagsCommand({
          Resources: [id],
          Tags: [
            { Key: role, Value: '1' },
            { Key: `kubernetes.io/cluster/${clusterName}`, Value: 'shared' },
            { Key: 'Name', Value: `${role.split('/').pop()}-${zone}` },
          ],
        }),
      );
      return id;
    };
    const publicSubnets = [
      await subnet('10.0.1.0/24', 'us-east-1a', 'kubernetes.io/role/elb'),
      await subnet('10.0.2.0/24', 'us-east-1b', 'kubernetes.io/role/elb'),
    ];
    const privateSubnets = [
      await subnet('10.0.11.0/24', 'us-east-1a', 'kubernetes.io/role/internal-elb'),
      await subnet('10.0.12.0/24', 'us-east-1b', 'kubernetes.io/role/internal-elb'),
    ];
    const nodeGroup = await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: nodeSecurityGroupName,
        Description: 'cluster nodes',
        VpcId: vpcId,
        TagSpecifications: [
          {
            ResourceType: 'security-group',
            Tags: [{ Key: `kubernetes.io/cluster/${clusterName}`, Value: 'owned' }],
          },
        ],
      }),
    );
    const instances: { id: string; zone: string }[] = [];
    for (let i = 0; i < instanceCount; i++) {
      const zone = i % 2 === 0 ? 'us-east-1a' : 'us-east-1b';
      const out = await ec2.send(
        new RunInstancesCommand({
          ImageId: 'ami-12c6146b',
          MinCount: 1,
          MaxCount: 1,
          InstanceType: 't3.small',
          SubnetId: privateSubnets[i % 2],
          SecurityGroupIds: [nodeGroup.GroupId!],
        }),
      );
      instances.push({ id: out.Instances![0]!.InstanceId!, zone });
    }
    return {
      vpcId,
      publicSubnets,
      privateSubnets,
      nodeSecurityGroupId: nodeGroup.GroupId!,
      instances,
    };
  } finally {
    ec2.destroy();
  }
}
