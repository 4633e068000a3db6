/**
 * Target group attributes (proxy protocol v2, and those the target-group-attributes annotation
 * sets): parsed from the Service, then kept in line with one describe per group and a modify
 * only for the keys that differ. Every key kube-lbc manages has a value: the annotation's, else
 * AWS's default, so removing an annotation restores the default instead of leaving the old value.
 */
import {
  DescribeTargetGroupAttributesCommand,
  ModifyTargetGroupAttributesCommand,
  type ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';

const prefix = 'service.beta.kubernetes.io/';
export const attributeAnnotation = {
  proxyProtocol: `${prefix}aws-load-balancer-proxy-protocol`,
} as const;

/** AWS's values for an NLB instance target group nobody has changed. */
export const targetGroupDefaults: Readonly<Record<string, string>> = Object.freeze({
  'proxy_protocol_v2.enabled': 'false',
});

type Fail = (key: string, message: string) => void;

/**
 * The attributes the Service asks for, only the keys it sets. cloud-provider-aws and
 * aws-load-balancer-controller take proxy-protocol `*` only, meaning every target group.
 */
export function parseTargetGroupAttributes(
  a: Readonly<Record<string, string>>,
  fail: Fail,
): Record<string, string> {
  const out: Record<string, string> = {};
  const proxy = a[attributeAnnotation.proxyProtocol];
  if (proxy !== undefined) {
    if (proxy.trim() === '*') out['proxy_protocol_v2.enabled'] = 'true';
    else
      fail(
        attributeAnnotation.proxyProtocol,
        `"${proxy}" is not "*" (the only value: proxy protocol v2 on every target group)`,
      );
  }
  return out;
}

/** Every managed key: the Service's value, else AWS's default. */
export function desiredTargetGroupAttributes(
  set: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  return { ...targetGroupDefaults, ...set };
}

/**
 * Writes the attributes that differ. A group made in this run has AWS's defaults, so `fresh`
 * skips the describe; a key AWS does not list (moto lists few) counts as its default.
 */
export async function reconcileTargetGroupAttributes(
  elb: ElasticLoadBalancingV2Client,
  targetGroupArn: string,
  desired: Readonly<Record<string, string>>,
  fresh: boolean,
): Promise<void> {
  const current: Record<string, string> = {};
  if (!fresh) {
    const out = await elb.send(
      new DescribeTargetGroupAttributesCommand({ TargetGroupArn: targetGroupArn }),
    );
    for (const attr of out.Attributes ?? []) current[attr.Key!] = attr.Value ?? '';
  }
  const changed = Object.entries(desired).filter(
    ([key, value]) => (current[key] ?? targetGroupDefaults[key]) !== value,
  );
  if (changed.length === 0) return;
  await elb.send(
    new ModifyTargetGroupAttributesCommand({
      TargetGroupArn: targetGroupArn,
      Attributes: changed.map(([Key, Value]) => ({ Key, Value })),
    }),
  );
}
