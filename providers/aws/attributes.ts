/**
 * Target group attributes (proxy protocol v2, and those the target-group-attributes annotation
 * sets) and the NLB's access-log attributes: parsed from the Service, then kept in line with one
 * describe and a modify only for the keys that differ. Every key kube-lbc manages has a value:
 * the annotation's, else AWS's default, so removing an annotation restores the default instead
 * of leaving the old value.
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
  accessLogEnabled: `${prefix}aws-load-balancer-access-log-enabled`,
  accessLogBucket: `${prefix}aws-load-balancer-access-log-s3-bucket-name`,
  accessLogPrefix: `${prefix}aws-load-balancer-access-log-s3-bucket-prefix`,
} as const;

/** Classic ELBs only: NLBs deliver access logs every 5 minutes, with no setting for it. */
export const accessLogEmitInterval = `${prefix}aws-load-balancer-access-log-emit-interval`;

export interface AccessLogSettings {
  readonly enabled: boolean;
  readonly bucket?: string;
  readonly prefix?: string;
}

/**
 * cloud-provider-aws's meaning: access logs off unless access-log-enabled is "true", which
 * needs a bucket; the bucket and prefix are kept but unused while disabled. AWS also checks
 * at the write that the bucket exists and its policy lets ELB deliver to it (moto does not).
 */
export function parseAccessLogs(
  a: Readonly<Record<string, string>>,
  fail: Fail,
): AccessLogSettings | undefined {
  const enabled = a[attributeAnnotation.accessLogEnabled];
  const bucket = a[attributeAnnotation.accessLogBucket]?.trim();
  const logPrefix = a[attributeAnnotation.accessLogPrefix]?.trim();
  if (enabled === undefined && bucket === undefined && logPrefix === undefined) return undefined;
  let ok = true;
  const bad = (key: string, message: string) => {
    fail(key, message);
    ok = false;
  };
  if (enabled !== undefined && !isBool(enabled))
    bad(attributeAnnotation.accessLogEnabled, `"${enabled}" is not "true" or "false"`);
  if (bucket !== undefined && !isBucketName(bucket))
    bad(attributeAnnotation.accessLogBucket, `"${bucket}" is not an S3 bucket name`);
  if (enabled === 'true' && !bucket)
    bad(
      attributeAnnotation.accessLogBucket,
      `is needed with ${attributeAnnotation.accessLogEnabled}="true"`,
    );
  if (logPrefix !== undefined && logPrefix.includes('AWSLogs'))
    bad(
      attributeAnnotation.accessLogPrefix,
      `"${logPrefix}" contains "AWSLogs", which ELB refuses in a prefix`,
    );
  if (!ok) return undefined;
  return {
    enabled: enabled === 'true',
    ...(bucket ? { bucket } : {}),
    ...(logPrefix ? { prefix: logPrefix } : {}),
  };
}

/** S3's rules for a bucket name (general purpose buckets). */
function isBucketName(name: string): boolean {
  return (
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !name.includes('..') &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name)
  );
}

const crossZoneKey = 'load_balancing.cross_zone.enabled';
/** AWS's values for an NLB nobody has changed. */
const loadBalancerDefaults: Readonly<Record<string, string>> = {
  [crossZoneKey]: 'false',
  'access_logs.s3.enabled': 'false',
  'access_logs.s3.bucket': '',
  'access_logs.s3.prefix': '',
};

/**
 * The NLB attributes kube-lbc manages and the values they should have. The bucket and prefix
 * only while logs are on: ELBv2 refuses an empty bucket, so turning logs off leaves them.
 */
export function desiredLoadBalancerAttributes(settings: {
  readonly crossZone: boolean;
  readonly accessLogs?: AccessLogSettings;
}): Record<string, string> {
  const logs = settings.accessLogs;
  return {
    [crossZoneKey]: String(settings.crossZone),
    'access_logs.s3.enabled': String(logs?.enabled ?? false),
    ...(logs?.enabled
      ? { 'access_logs.s3.bucket': logs.bucket ?? '', 'access_logs.s3.prefix': logs.prefix ?? '' }
      : {}),
  };
}

/** The desired attributes that differ from `current` (as DescribeLoadBalancerAttributes lists it). */
export function changedLoadBalancerAttributes(
  current: readonly { Key?: string; Value?: string }[],
  desired: Readonly<Record<string, string>>,
): { Key: string; Value: string }[] {
  const have = Object.fromEntries(current.map((a) => [a.Key ?? '', a.Value ?? '']));
  return Object.entries(desired)
    .filter(([key, value]) => (have[key] ?? loadBalancerDefaults[key]) !== value)
    .map(([Key, Value]) => ({ Key, Value }));
}

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
