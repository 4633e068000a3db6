/**
 * The one way the provider adds and removes security group ingress rules, so that both are safe
 * to send again (clients.ts lets the gate repeat them after a 5xx, a reset or a timeout). A repeat
 * of a call whose answer was lost is refused for what the first attempt did: EC2 answers an
 * Authorize of a rule that is there with InvalidPermission.Duplicate and a Revoke of a rule that
 * is not with InvalidPermission.NotFound (in a VPC that is not the default one; the default VPC
 * answers success and lists the rule as unknown). Here those answers count as done.
 *
 * A call of several rules is refused whole for one of them, and does not say which: EC2 then
 * applies none of the others, moto all the others. So after such an answer the rules are sent
 * again one at a time, where the same answer is exact. That also covers a rule someone else
 * (another Service's ensure, on the shared node group) added or removed since we looked.
 */
import {
  AuthorizeSecurityGroupIngressCommand,
  RevokeSecurityGroupIngressCommand,
  type EC2Client,
  type IpPermission,
} from '@aws-sdk/client-ec2';
import { hasCloudCode } from './errors.js';

export const duplicateRuleCode = 'InvalidPermission.Duplicate';
export const missingRuleCode = 'InvalidPermission.NotFound';

/** Adds `permissions` to the group's ingress; rules already there are left as they are. */
export async function authorizeIngress(
  ec2: EC2Client,
  groupId: string,
  permissions: readonly IpPermission[],
): Promise<void> {
  await change(
    (IpPermissions) =>
      ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions })),
    permissions,
    duplicateRuleCode,
  );
}

/**
 * Removes `permissions` from the group's ingress; rules already gone count as removed. Send them
 * as described where a rule has a description: moto (unlike EC2) matches on it.
 */
export async function revokeIngress(
  ec2: EC2Client,
  groupId: string,
  permissions: readonly IpPermission[],
): Promise<void> {
  await change(
    (IpPermissions) =>
      ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions })),
    permissions,
    missingRuleCode,
  );
}

async function change(
  send: (permissions: IpPermission[]) => Promise<unknown>,
  permissions: readonly IpPermission[],
  alreadyDone: string,
): Promise<void> {
  if (permissions.length === 0) return;
  try {
    await send([...permissions]);
    return;
  } catch (err) {
    if (!hasCloudCode(err, alreadyDone)) throw err;
  }
  const rules = singleRules(permissions);
  if (rules.length === 1) return;
  for (const rule of rules) {
    try {
      await send([rule]);
    } catch (err) {
      if (!hasCloudCode(err, alreadyDone)) throw err;
    }
  }
}

/** One permission per source (CIDR, IPv6 CIDR, group, prefix list): the unit EC2 refuses. */
export function singleRules(permissions: readonly IpPermission[]): IpPermission[] {
  return permissions.flatMap((p) => {
    const { IpRanges, Ipv6Ranges, UserIdGroupPairs, PrefixListIds, ...ports } = p;
    const rules: IpPermission[] = [
      ...(IpRanges ?? []).map((r) => ({ ...ports, IpRanges: [r] })),
      ...(Ipv6Ranges ?? []).map((r) => ({ ...ports, Ipv6Ranges: [r] })),
      ...(UserIdGroupPairs ?? []).map((g) => ({ ...ports, UserIdGroupPairs: [g] })),
      ...(PrefixListIds ?? []).map((l) => ({ ...ports, PrefixListIds: [l] })),
    ];
    return rules.length > 0 ? rules : [p];
  });
}
