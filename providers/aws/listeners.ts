/**
 * Listeners: one per Service port number, forwarding to that port's target group. An NLB allows
 * one listener per port, which is why TCP and UDP on one port become a single TCP_UDP listener.
 */
import {
  CreateListenerCommand,
  DeleteListenerCommand,
  DescribeListenersCommand,
  ModifyListenerCommand,
  type ElasticLoadBalancingV2Client,
  type Listener,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { hasCloudCode, isNotFound } from './errors.js';
import type { DesiredListener } from './desired.js';
import { toAwsTags } from './tags.js';

export async function describeListeners(
  elb: ElasticLoadBalancingV2Client,
  loadBalancerArn: string,
): Promise<Listener[]> {
  try {
    const out = await elb.send(new DescribeListenersCommand({ LoadBalancerArn: loadBalancerArn }));
    return out.Listeners ?? [];
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

/**
 * Every group a listener forwards to. aws-load-balancer-controller writes `ForwardConfig` alone
 * (its WeightedTargetGroups gate, on by default), which may name several groups.
 */
export function forwardTargets(listener: Listener): string[] {
  const forward = listener.DefaultActions?.find((a) => a.Type === 'forward');
  const weighted = (forward?.ForwardConfig?.TargetGroups ?? []).map((t) => t.TargetGroupArn);
  return [...new Set([forward?.TargetGroupArn, ...weighted])].filter(
    (arn): arn is string => arn !== undefined,
  );
}

/** The group a listener forwards to, when it forwards to exactly one. */
export function forwardsTo(listener: Listener): string | undefined {
  const arns = forwardTargets(listener);
  return arns.length === 1 ? arns[0] : undefined;
}

/**
 * Creates missing listeners, repoints or re-protocols changed ones, deletes those for ports the
 * Service no longer has. `arnOf` maps a desired target group name to its ARN. A second listener
 * on a port (moto makes one for a repeated CreateListener; AWS would refuse it) is deleted too,
 * keeping the one that forwards to the port's target group.
 */
export async function reconcileListeners(
  elb: ElasticLoadBalancingV2Client,
  loadBalancerArn: string,
  actual: readonly Listener[],
  desired: readonly DesiredListener[],
  arnOf: (targetGroupName: string) => string,
  tags: Readonly<Record<string, string>>,
): Promise<void> {
  for (const want of desired) {
    const targetGroupArn = arnOf(want.targetGroupName);
    const DefaultActions = [{ Type: 'forward' as const, TargetGroupArn: targetGroupArn }];
    const [have, ...extra] = keptFirst(
      actual.filter((l) => l.Port === want.port),
      targetGroupArn,
    );
    for (const l of extra) await deleteListener(elb, l);
    const Protocol = want.tls ? 'TLS' : want.protocol;
    const tls = want.tls
      ? {
          Certificates: [{ CertificateArn: want.tls.certificateArn }],
          ...(want.tls.sslPolicy ? { SslPolicy: want.tls.sslPolicy } : {}),
        }
      : {};
    if (!have) {
      try {
        await elb.send(
          new CreateListenerCommand({
            LoadBalancerArn: loadBalancerArn,
            Port: want.port,
            Protocol,
            DefaultActions,
            ...tls,
            Tags: toAwsTags(tags),
          }),
        );
      } catch (err) {
        // Made by an attempt whose answer was lost; the next sync compares it like any other.
        if (!hasCloudCode(err, 'DuplicateListener')) throw err;
      }
    } else if (
      have.Protocol !== Protocol ||
      forwardsTo(have) !== targetGroupArn ||
      tlsDiffers(have, want)
    ) {
      await elb.send(
        new ModifyListenerCommand({
          ListenerArn: have.ListenerArn,
          Port: want.port,
          Protocol,
          DefaultActions,
          ...tls,
        }),
      );
    }
  }
  const wantedPorts = new Set(desired.map((l) => l.port));
  for (const l of actual) {
    if (!wantedPorts.has(l.Port!)) await deleteListener(elb, l);
  }
}

/** One port's listeners, the one to keep first: it forwards to `targetGroupArn`, or is first. */
function keptFirst(onPort: readonly Listener[], targetGroupArn: string): Listener[] {
  const kept = onPort.find((l) => forwardsTo(l) === targetGroupArn) ?? onPort[0];
  return kept ? [kept, ...onPort.filter((l) => l !== kept)] : [];
}

async function deleteListener(
  elb: ElasticLoadBalancingV2Client,
  listener: Listener,
): Promise<void> {
  try {
    await elb.send(new DeleteListenerCommand({ ListenerArn: listener.ListenerArn }));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** The certificate, or a security policy the Service names (unnamed, AWS's default stands). */
function tlsDiffers(have: Listener, want: DesiredListener): boolean {
  if (!want.tls) return false;
  if (have.Certificates?.[0]?.CertificateArn !== want.tls.certificateArn) return true;
  return want.tls.sslPolicy !== undefined && have.SslPolicy !== want.tls.sslPolicy;
}
