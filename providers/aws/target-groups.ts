/**
 * Target groups and their instance targets. A group's name carries its (port, protocol, node
 * port), which cannot change in place; only its health check is modified in place.
 */
import {
  CreateTargetGroupCommand,
  DeleteTargetGroupCommand,
  DeregisterTargetsCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ModifyTargetGroupCommand,
  RegisterTargetsCommand,
  type ElasticLoadBalancingV2Client,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { hasCloudCode, isNotFound } from './errors.js';
import type { DesiredTargetGroup, HealthCheck } from './desired.js';
import { toAwsTags } from './tags.js';

/**
 * The groups `arns` name (as the NLB's listeners forward to them), 20 per call. Attachment is
 * read from the listeners, not from DescribeTargetGroups by LoadBalancerArn: that is what AWS
 * means by it, and moto's LoadBalancerArns never follows ModifyListener or DeleteListener.
 * A missing ARN fails its whole batch; the caller then sees fewer groups than listeners.
 */
export async function describeTargetGroups(
  elb: ElasticLoadBalancingV2Client,
  arns: readonly string[],
): Promise<TargetGroup[]> {
  const out: TargetGroup[] = [];
  for (let i = 0; i < arns.length; i += 20) {
    try {
      const page = await elb.send(
        new DescribeTargetGroupsCommand({ TargetGroupArns: arns.slice(i, i + 20) }),
      );
      out.push(...(page.TargetGroups ?? []));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return out;
}

/** One group by name, or undefined. One name per call: a batch fails whole on one missing name. */
export async function findTargetGroup(
  elb: ElasticLoadBalancingV2Client,
  name: string,
): Promise<TargetGroup | undefined> {
  try {
    const out = await elb.send(new DescribeTargetGroupsCommand({ Names: [name] }));
    return out.TargetGroups?.[0];
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Every group in the account and region whose name starts with `prefix`. */
export async function targetGroupsNamed(
  elb: ElasticLoadBalancingV2Client,
  prefix: string,
): Promise<TargetGroup[]> {
  const out: TargetGroup[] = [];
  let Marker: string | undefined;
  do {
    const page = await elb.send(new DescribeTargetGroupsCommand({ Marker, PageSize: 400 }));
    out.push(...(page.TargetGroups ?? []).filter((tg) => tg.TargetGroupName?.startsWith(prefix)));
    Marker = page.NextMarker;
  } while (Marker);
  return out;
}

export async function createTargetGroup(
  elb: ElasticLoadBalancingV2Client,
  desired: DesiredTargetGroup,
  vpcId: string,
  tags: Readonly<Record<string, string>>,
): Promise<TargetGroup> {
  try {
    const out = await elb.send(
      new CreateTargetGroupCommand({
        Name: desired.name,
        Protocol: desired.protocol,
        Port: desired.port,
        VpcId: vpcId,
        TargetType: 'instance',
        ...healthCheckFields(desired.healthCheck),
        Tags: toAwsTags(tags),
      }),
    );
    return out.TargetGroups![0]!;
  } catch (err) {
    if (!hasCloudCode(err, 'DuplicateTargetGroupName')) throw err;
    const found = await findTargetGroup(elb, desired.name);
    if (!found) throw err;
    return found;
  }
}

/** Modifies the health check only where it differs from `desired`. */
export async function reconcileHealthCheck(
  elb: ElasticLoadBalancingV2Client,
  actual: TargetGroup,
  desired: DesiredTargetGroup,
): Promise<void> {
  const want = healthCheckFields(desired.healthCheck);
  const differs = (Object.keys(want) as (keyof typeof want)[]).some((k) => {
    const current = actual[k as keyof TargetGroup];
    return String(current ?? '') !== String(want[k] ?? '');
  });
  if (differs) {
    await elb.send(
      new ModifyTargetGroupCommand({ TargetGroupArn: actual.TargetGroupArn, ...want }),
    );
  }
}

function healthCheckFields(hc: HealthCheck) {
  return {
    HealthCheckProtocol: hc.protocol,
    HealthCheckPort: hc.port,
    HealthCheckEnabled: true,
    HealthCheckIntervalSeconds: hc.intervalSeconds,
    HealthCheckTimeoutSeconds: hc.timeoutSeconds,
    HealthyThresholdCount: hc.healthyThreshold,
    UnhealthyThresholdCount: hc.unhealthyThreshold,
    ...(hc.path !== undefined ? { HealthCheckPath: hc.path } : {}),
  };
}

/**
 * Registers missing instances and deregisters extra ones. Targets already `draining` count as
 * gone: AWS lists a deregistered target for the whole deregistration delay (300 s by default),
 * and deregistering it again would be a write for nothing.
 */
export async function reconcileTargets(
  elb: ElasticLoadBalancingV2Client,
  targetGroupArn: string,
  instanceIds: readonly string[],
): Promise<{ registered: number; deregistered: number }> {
  const out = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }));
  const current = new Set(
    (out.TargetHealthDescriptions ?? [])
      .filter((d) => d.TargetHealth?.State !== 'draining')
      .map((d) => d.Target?.Id)
      .filter((id): id is string => id !== undefined),
  );
  const wanted = new Set(instanceIds);
  const add = [...wanted].filter((id) => !current.has(id));
  const remove = [...current].filter((id) => !wanted.has(id));
  // RegisterTargets and DeregisterTargets take at most 500 targets per call.
  for (let i = 0; i < add.length; i += 500) {
    const Targets = add.slice(i, i + 500).map((Id) => ({ Id }));
    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: targetGroupArn, Targets }));
  }
  for (let i = 0; i < remove.length; i += 500) {
    const Targets = remove.slice(i, i + 500).map((Id) => ({ Id }));
    await elb.send(new DeregisterTargetsCommand({ TargetGroupArn: targetGroupArn, Targets }));
  }
  return { registered: add.length, deregistered: remove.length };
}

/** Deletes a group; absent is success. `in-use` while a listener still points at it. */
export async function deleteTargetGroup(
  elb: ElasticLoadBalancingV2Client,
  arn: string,
): Promise<'deleted' | 'in-use'> {
  try {
    await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: arn }));
    return 'deleted';
  } catch (err) {
    if (isNotFound(err)) return 'deleted';
    if (hasCloudCode(err, 'ResourceInUse')) return 'in-use';
    throw err;
  }
}
