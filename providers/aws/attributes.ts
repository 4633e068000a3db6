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
  targetGroupAttributes: `${prefix}aws-load-balancer-target-group-attributes`,
} as const;

/** AWS's values for an NLB instance target group nobody has changed. */
export const targetGroupDefaults: Readonly<Record<string, string>> = Object.freeze({
  'deregistration_delay.timeout_seconds': '300',
  'preserve_client_ip.enabled': 'true',
  'proxy_protocol_v2.enabled': 'false',
  'stickiness.enabled': 'false',
  'stickiness.type': 'source_ip',
});

const isBool = (v: string) => v === 'true' || v === 'false';
/** What ELBv2 accepts for each key on an NLB target group, as its error would say it. */
const allowed: Record<string, { ok: (v: string) => boolean; what: string }> = {
  'deregistration_delay.timeout_seconds': {
    ok: (v) => /^\d{1,4}$/.test(v) && Number(v) <= 3600,
    what: 'a whole number of seconds from 0 to 3600',
  },
  'preserve_client_ip.enabled': { ok: isBool, what: '"true" or "false"' },
  'proxy_protocol_v2.enabled': { ok: isBool, what: '"true" or "false"' },
  'stickiness.enabled': { ok: isBool, what: '"true" or "false"' },
  // lb_cookie and app_cookie are ALB stickiness; an NLB has source_ip only.
  'stickiness.type': { ok: (v) => v === 'source_ip', what: '"source_ip" (the only NLB type)' },
};

type Fail = (key: string, message: string) => void;

/**
 * The attributes the Service asks for, only the keys it sets, for every target group. Keys and
 * values are checked as ELBv2 checks them for an NLB instance target group, so a bad one is an
 * Invalid condition instead of a failed write halfway through an ensure. cloud-provider-aws and
 * aws-load-balancer-controller take proxy-protocol `*` only, meaning every target group.
 */
export function parseTargetGroupAttributes(
  a: Readonly<Record<string, string>>,
  protocols: ReadonlySet<string>,
  fail: Fail,
): Record<string, string> {
  const out: Record<string, string> = {};
  const raw = a[attributeAnnotation.targetGroupAttributes];
  if (raw !== undefined) {
    const bad = (message: string) => fail(attributeAnnotation.targetGroupAttributes, message);
    for (const pair of raw.split(',')) {
      if (pair.trim() === '') continue;
      const eq = pair.indexOf('=');
      const key = (eq < 0 ? pair : pair.slice(0, eq)).trim();
      const value = eq < 0 ? '' : pair.slice(eq + 1).trim();
      const rule = allowed[key];
      if (eq < 0 || key === '') bad(`"${pair.trim()}" is not key=value`);
      else if (!rule)
        bad(`"${key}" is not an attribute kube-lbc sets (${Object.keys(allowed).join(', ')})`);
      else if (key in out) bad(`"${key}" is set twice`);
      else if (!rule.ok(value)) bad(`${key} "${value}" is not ${rule.what}`);
      else out[key] = value;
    }
    // AWS refuses it: a UDP listener cannot rewrite the client's address.
    if (out['preserve_client_ip.enabled'] === 'false' && protocols.has('UDP'))
      bad('preserve_client_ip.enabled cannot be false on a Service with UDP ports');
  }
  // aws-load-balancer-controller: proxy-protocol takes precedence over the attributes annotation.
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
