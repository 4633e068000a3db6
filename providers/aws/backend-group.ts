/**
 * The backend security group: one per cluster and VPC, put on every NLB of the cluster beside
 * the NLB's own frontend group, and the source the nodes' security groups admit NLB traffic
 * from. The node groups then hold a fixed number of rules (backendNodeRules in node-access.ts),
 * however many Services there are; AWS allows 60 rules per group, which per-Service rules filled
 * at the 61st Service. It has no ingress rules of its own: who may connect is still decided per
 * Service, by the frontend group (security.ts).
 *
 * As aws-load-balancer-controller does with its backend group (pkg/networking/
 * backend_sg_provider.go): found by tag, created under a name unique per VPC (so a second create
 * is InvalidGroup.Duplicate, never a second group), its ID kept in memory, and deleted once no
 * NLB holds it. Here "no NLB holds it" is read from AWS rather than from Kubernetes objects, and
 * an in-process lock keeps a delete from running while an ensure is between finding the group
 * and giving it to its NLB (only the leader writes, so one process is enough).
 */
import {
  CreateSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  type EC2Client,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import {
  DescribeLoadBalancersCommand,
  type ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { RetryAfterError } from '../../contract/errors.js';
import { isIntercepted } from './clients.js';
import { hasCloudCode } from './errors.js';
import { backendGroupName } from './names.js';
import { revokeNodeAccess } from './node-access.js';
import { deleteSecurityGroup } from './security.js';
import { clusterTag, fromAwsTags, toAwsTags } from './tags.js';

/** Marks the backend group among the cluster's groups; it carries no Service UID. */
export const backendRoleTag = 'kube-lbc.io/role';
const backendRole = 'backend';

/** AWS releases a deleted NLB's network interfaces, and so its groups, some seconds after. */
const releaseRecheckMs = 10_000;

export class BackendGroups {
  readonly #ids = new Map<string, Promise<string>>();
  readonly #lock = new UseOrRelease();

  /**
   * Runs `fn` with the ID of the cluster's backend group in `vpcId` (found, or created), which
   * no `release` deletes before `fn` settles: give it to the NLB inside `fn`.
   */
  use<T>(
    ec2: EC2Client,
    clusterName: string,
    vpcId: string,
    fn: (groupId: string) => Promise<T>,
  ): Promise<T> {
    return this.#lock.use(async () => {
      const key = `${clusterName}/${vpcId}`;
      // A plan's group may be made up (planned:...): never remember it for the real ensures.
      if (isIntercepted()) return fn(await ensureBackendGroup(ec2, clusterName, vpcId));
      let id = this.#ids.get(key);
      if (!id) {
        // Concurrent ensures share one lookup, so they never race to create it.
        id = ensureBackendGroup(ec2, clusterName, vpcId);
        this.#ids.set(key, id);
        id.catch(() => this.#ids.delete(key));
      }
      try {
        return await fn(await id);
      } catch (err) {
        // Deleted out of band: look it up (or make it) again on the next attempt.
        if (hasCloudCode(err, 'InvalidGroup.NotFound', 'InvalidSecurityGroup'))
          this.#ids.delete(key);
        throw err;
      }
    });
  }

  /** Forgets a remembered ID that AWS no longer knows (deleted out of band). */
  forget(clusterName: string, vpcId: string): void {
    this.#ids.delete(`${clusterName}/${vpcId}`);
  }

  /**
   * Deletes the cluster's backend groups that no NLB holds, after revoking the node rules that
   * name them (AWS refuses to delete a group other groups' rules name). Run after an NLB is gone.
   */
  release(ec2: EC2Client, elb: ElasticLoadBalancingV2Client, clusterName: string): Promise<void> {
    return this.#lock.release(async () => {
      const groups = await findBackendGroups(ec2, clusterName);
      if (groups.length === 0) return;
      const held = await groupsHeldByLoadBalancers(elb);
      for (const group of groups.filter((g) => !held.has(g.GroupId!))) {
        this.forget(clusterName, group.VpcId!);
        await revokeNodeAccess(ec2, group.GroupId!);
        if ((await deleteSecurityGroup(ec2, group.GroupId!)) === 'in-use') {
          throw new RetryAfterError(
            `backend security group ${group.GroupId} still held by a deleted NLB`,
            releaseRecheckMs,
          );
        }
      }
    });
  }
}

async function ensureBackendGroup(
  ec2: EC2Client,
  clusterName: string,
  vpcId: string,
): Promise<string> {
  const found = await findBackendGroups(ec2, clusterName, vpcId);
  if (found[0]) return found[0].GroupId!;
  const name = backendGroupName(clusterName);
  try {
    const out = await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: name,
        VpcId: vpcId,
        Description: `kube-lbc: the NLBs of cluster ${clusterName}, as the nodes see them`,
        TagSpecifications: [
          {
            ResourceType: 'security-group',
            Tags: toAwsTags({ [clusterTag(clusterName)]: 'owned', [backendRoleTag]: backendRole }),
          },
        ],
      }),
    );
    return out.GroupId!;
  } catch (err) {
    // Made by an earlier attempt whose answer we never saw: the tags came with the create.
    if (!hasCloudCode(err, 'InvalidGroup.Duplicate')) throw err;
    const again = await findBackendGroups(ec2, clusterName, vpcId);
    if (!again[0]) throw err;
    return again[0].GroupId!;
  }
}

/** The cluster's backend groups, in `vpcId` or in every VPC. */
async function findBackendGroups(
  ec2: EC2Client,
  clusterName: string,
  vpcId?: string,
): Promise<SecurityGroup[]> {
  const out = await ec2.send(
    new DescribeSecurityGroupsCommand({
      Filters: [
        { Name: `tag:${backendRoleTag}`, Values: [backendRole] },
        ...(vpcId ? [{ Name: 'vpc-id', Values: [vpcId] }] : []),
      ],
    }),
  );
  // Another cluster's backend group in the same VPC carries the same role tag.
  return (out.SecurityGroups ?? []).filter(
    (g) => fromAwsTags(g.Tags)[clusterTag(clusterName)] === 'owned',
  );
}

/** Every security group some NLB in the account and region holds. */
async function groupsHeldByLoadBalancers(elb: ElasticLoadBalancingV2Client): Promise<Set<string>> {
  const held = new Set<string>();
  let Marker: string | undefined;
  do {
    const page = await elb.send(new DescribeLoadBalancersCommand({ Marker, PageSize: 400 }));
    for (const lb of page.LoadBalancers ?? []) for (const g of lb.SecurityGroups ?? []) held.add(g);
    Marker = page.NextMarker;
  } while (Marker);
  return held;
}

/**
 * Many users at once, or one release alone. A waiting release holds off new users, so a steady
 * stream of ensures cannot starve it. Every check and change of the counts is synchronous.
 */
class UseOrRelease {
  #users = 0;
  #releasing = false;
  #waitingReleases = 0;
  #wake: (() => void)[] = [];

  async use<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#releasing || this.#waitingReleases > 0) await this.#changed();
    this.#users++;
    try {
      return await fn();
    } finally {
      this.#users--;
      this.#notify();
    }
  }

  async release<T>(fn: () => Promise<T>): Promise<T> {
    this.#waitingReleases++;
    try {
      while (this.#releasing || this.#users > 0) await this.#changed();
    } finally {
      this.#waitingReleases--;
    }
    this.#releasing = true;
    try {
      return await fn();
    } finally {
      this.#releasing = false;
      this.#notify();
    }
  }

  #changed(): Promise<void> {
    return new Promise((resolve) => this.#wake.push(resolve));
  }

  #notify(): void {
    for (const wake of this.#wake.splice(0)) wake();
  }
}
