/**
 * The cloud-provider-aws Service annotations this provider honours for NLBs, parsed and checked
 * in one pass. `parseAnnotations` returns the settings and every problem at once, each naming its
 * annotation, so a user fixes them all in one edit and nothing in AWS changes meanwhile.
 */
import { isIP } from 'node:net';
import type { V1Service } from '@kubernetes/client-node';
import type { FieldError } from '../../contract/provider.js';
import {
  attributeAnnotation,
  parseAccessLogs,
  parseTargetGroupAttributes,
  type AccessLogSettings,
} from './attributes.js';
import { isReservedTagKey } from './tags.js';

const prefix = 'service.beta.kubernetes.io/';
export const annotation = {
  type: `${prefix}aws-load-balancer-type`,
  internal: `${prefix}aws-load-balancer-internal`,
  scheme: `${prefix}aws-load-balancer-scheme`,
  subnets: `${prefix}aws-load-balancer-subnets`,
  crossZone: `${prefix}aws-load-balancer-cross-zone-load-balancing-enabled`,
  additionalTags: `${prefix}aws-load-balancer-additional-resource-tags`,
  hcProtocol: `${prefix}aws-load-balancer-healthcheck-protocol`,
  hcPort: `${prefix}aws-load-balancer-healthcheck-port`,
  hcPath: `${prefix}aws-load-balancer-healthcheck-path`,
  hcInterval: `${prefix}aws-load-balancer-healthcheck-interval`,
  hcTimeout: `${prefix}aws-load-balancer-healthcheck-timeout`,
  hcHealthy: `${prefix}aws-load-balancer-healthcheck-healthy-threshold`,
  hcUnhealthy: `${prefix}aws-load-balancer-healthcheck-unhealthy-threshold`,
  ipAddressType: `${prefix}aws-load-balancer-ip-address-type`,
  sslCert: `${prefix}aws-load-balancer-ssl-cert`,
  sslPorts: `${prefix}aws-load-balancer-ssl-ports`,
  sslPolicy: `${prefix}aws-load-balancer-ssl-negotiation-policy`,
  targetNodeLabels: `${prefix}aws-load-balancer-target-node-labels`,
  eipAllocations: `${prefix}aws-load-balancer-eip-allocations`,
  privateIpv4Addresses: `${prefix}aws-load-balancer-private-ipv4-addresses`,
  securityGroups: `${prefix}aws-load-balancer-security-groups`,
  extraSecurityGroups: `${prefix}aws-load-balancer-extra-security-groups`,
  ...attributeAnnotation,
} as const;

/** cloud-provider-aws's NLB health-check interval when the annotation is not set. */
export const defaultHealthCheckIntervalSeconds = 30;

export type HealthCheckProtocol = 'TCP' | 'HTTP' | 'HTTPS';

/** Health-check fields a user set; unset fields fall back to the traffic-policy defaults. */
export interface HealthCheckOverrides {
  protocol?: HealthCheckProtocol;
  /** A port number or `traffic-port`. */
  port?: number | 'traffic-port';
  path?: string;
  intervalSeconds?: number;
  timeoutSeconds?: number;
  healthyThreshold?: number;
  unhealthyThreshold?: number;
}

export interface AwsServiceSettings {
  scheme: 'internet-facing' | 'internal';
  /** Subnet IDs (`subnet-...`) or Name tags, as written; undefined means discover by tag. */
  subnets?: string[];
  crossZone: boolean;
  additionalTags: Record<string, string>;
  healthCheck: HealthCheckOverrides;
  ipAddressType: 'ipv4' | 'dualstack';
  /** TLS listeners: set when ssl-cert is. */
  tls?: TlsSettings;
  /** Target group attributes the Service sets (proxy-protocol among them); unset keys: AWS's defaults. */
  targetGroupAttributes?: Record<string, string>;
  /** Only nodes with every one of these labels are targets; `undefined`: any value. */
  targetNodeLabels?: Record<string, string | undefined>;
  /** Static addresses, one per subnet: fixed when the NLB is made (a change makes a new one). */
  subnetMappings?: { kind: 'eip' | 'private-ipv4'; values: string[] };
  /** Set when any access-log annotation is; unset, access logs are off. */
  accessLogs?: AccessLogSettings;
  /**
   * The user's frontend groups (IDs `sg-...` or names in the NLB's VPC), as written. With
   * `replace` (security-groups) kube-lbc makes no frontend group of its own; `extra` groups go
   * beside it. kube-lbc never edits or deletes any of them; the backend group is always added.
   */
  userSecurityGroups?: { replace: string[]; extra: string[] };
}

export interface TlsSettings {
  /** An ACM or IAM server certificate ARN. */
  readonly certificateArn: string;
  /** Service port numbers (as strings) or names that get TLS; `*` for every port. */
  readonly ports: readonly string[] | '*';
  /** The listener's security policy; unset leaves AWS's default. */
  readonly sslPolicy?: string;
}

const field = (key: string) => `metadata.annotations[${key}]`;

export function parseAnnotations(service: Readonly<V1Service>): {
  settings: AwsServiceSettings;
  errors: FieldError[];
} {
  const a = service.metadata?.annotations ?? {};
  const errors: FieldError[] = [];
  const fail = (key: string, message: string) => errors.push({ field: field(key), message });
  const settings: AwsServiceSettings = {
    scheme: 'internet-facing',
    crossZone: false,
    additionalTags: {},
    healthCheck: {},
    ipAddressType: 'ipv4',
  };

  const type = a[annotation.type];
  // "external" is aws-load-balancer-controller's word for an NLB it makes: a Service moving
  // from it (docs/migration.md) keeps the annotation. "nlb-ip" asks for IP targets: refused.
  if (type !== undefined && type !== 'nlb' && type !== 'external') {
    fail(
      annotation.type,
      `"${type}" is not supported: this provider creates NLBs with instance targets ("nlb", or "external" as aws-load-balancer-controller spells it)`,
    );
  }

  const internal = a[annotation.internal];
  if (internal !== undefined) {
    // cloud-provider-aws also took "0.0.0.0/0" here, from the days of classic ELBs.
    if (internal === 'true' || internal === '0.0.0.0/0') settings.scheme = 'internal';
    else if (internal !== 'false')
      fail(annotation.internal, `"${internal}" is not "true" or "false"`);
  }
  const scheme = a[annotation.scheme];
  if (scheme !== undefined) {
    if (scheme !== 'internal' && scheme !== 'internet-facing') {
      fail(annotation.scheme, `"${scheme}" is not "internal" or "internet-facing"`);
    } else if (internal !== undefined && scheme !== settings.scheme) {
      fail(annotation.scheme, `"${scheme}" contradicts ${annotation.internal}="${internal}"`);
    } else settings.scheme = scheme;
  }

  const subnets = a[annotation.subnets];
  if (subnets !== undefined) {
    const list = subnets.split(',').map((s) => s.trim());
    if (list.some((s) => s === '')) fail(annotation.subnets, `"${subnets}" has an empty entry`);
    else settings.subnets = list;
  }

  const crossZone = parseBool(a[annotation.crossZone]);
  if (crossZone === 'invalid') {
    fail(annotation.crossZone, `"${a[annotation.crossZone]}" is not "true" or "false"`);
  } else settings.crossZone = crossZone ?? false;

  const tags = a[annotation.additionalTags];
  if (tags !== undefined) parseTags(tags, settings, (m) => fail(annotation.additionalTags, m));

  parseHealthCheck(a, settings.healthCheck, fail);

  const ipType = a[annotation.ipAddressType];
  if (ipType !== undefined) {
    if (ipType === 'ipv4' || ipType === 'dualstack') settings.ipAddressType = ipType;
    else fail(annotation.ipAddressType, `"${ipType}" is not "ipv4" or "dualstack"`);
  }
  parseTls(a, settings, fail);
  parseSubnetMappings(a, settings, fail);
  checkTagRoom(settings, (m) => fail(annotation.additionalTags, m));
  const labels = a[annotation.targetNodeLabels];
  if (labels !== undefined)
    parseNodeLabels(labels, settings, (m) => fail(annotation.targetNodeLabels, m));
  const protocols = new Set((service.spec?.ports ?? []).map((p) => p.protocol ?? 'TCP'));
  const tgAttributes = parseTargetGroupAttributes(a, protocols, fail);
  if (Object.keys(tgAttributes).length > 0) settings.targetGroupAttributes = tgAttributes;
  const accessLogs = parseAccessLogs(a, fail);
  if (accessLogs) settings.accessLogs = accessLogs;
  const replace = parseGroupList(a, annotation.securityGroups, fail);
  const extra = parseGroupList(a, annotation.extraSecurityGroups, fail);
  if (replace || extra)
    settings.userSecurityGroups = { replace: replace ?? [], extra: extra ?? [] };
  return { settings, errors };
}

/** A comma-separated list of security group IDs (`sg-...`) or names; undefined when unset. */
function parseGroupList(
  a: Readonly<Record<string, string>>,
  key: string,
  fail: (key: string, message: string) => void,
): string[] | undefined {
  const raw = a[key];
  if (raw === undefined) return undefined;
  const list = raw.split(',').map((g) => g.trim());
  if (list.length === 0 || list.some((g) => g === '')) {
    fail(key, `"${raw}" has an empty entry: give security group IDs or names, comma-separated`);
    return undefined;
  }
  // Group names: up to 255 characters of a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$*
  const bad = list.filter(
    (g) => !/^sg-[0-9a-f]{8,17}$/.test(g) && (g.startsWith('sg-') || !groupName.test(g)),
  );
  if (bad.length > 0) {
    fail(key, `${bad.map((g) => `"${g}"`).join(', ')}: not a security group ID (sg-...) or name`);
    return undefined;
  }
  return [...new Set(list)];
}

const groupName = /^[A-Za-z0-9 ._\-:/()#@\[\]+=&;{}!$*]{1,255}$/;

/** cloud-provider-aws's meanings: ssl-ports defaults to every port, and needs ssl-cert. */
function parseTls(
  a: Readonly<Record<string, string>>,
  settings: AwsServiceSettings,
  fail: (key: string, message: string) => void,
): void {
  const cert = a[annotation.sslCert]?.trim();
  const ports = a[annotation.sslPorts];
  const policy = a[annotation.sslPolicy]?.trim();
  if (cert === undefined) {
    if (ports !== undefined)
      fail(annotation.sslPorts, `has no effect without ${annotation.sslCert}`);
    if (policy !== undefined)
      fail(annotation.sslPolicy, `has no effect without ${annotation.sslCert}`);
    return;
  }
  let ok = true;
  if (!certificateArn.test(cert)) {
    fail(annotation.sslCert, `"${cert}" is not one ACM or IAM server certificate ARN`);
    ok = false;
  }
  let list: string[] | '*' = '*';
  if (ports !== undefined && ports.trim() !== '*') {
    list = ports.split(',').map((p) => p.trim());
    if (list.some((p) => !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(p))) {
      fail(
        annotation.sslPorts,
        `"${ports}" is not a comma-separated list of port numbers or names`,
      );
      ok = false;
    }
  }
  if (policy !== undefined && !/^[A-Za-z0-9-]{1,128}$/.test(policy)) {
    fail(annotation.sslPolicy, `"${policy}" is not an ELB security policy name`);
    ok = false;
  }
  if (ok)
    settings.tls = { certificateArn: cert, ports: list, ...(policy ? { sslPolicy: policy } : {}) };
}

const certificateArn =
  /^arn:aws[a-z-]*:(acm:[a-z0-9-]+:\d{12}:certificate\/[\w-]+|iam::\d{12}:server-certificate\/[\w+=,.@/-]+)$/;

function parseBool(value: string | undefined): boolean | undefined | 'invalid' {
  if (value === undefined) return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  return 'invalid';
}

/** `Key1=Value1,Key2=Value2`; a bare `Key` means an empty value, as upstream. */
function parseTags(
  raw: string,
  settings: AwsServiceSettings,
  fail: (message: string) => void,
): void {
  for (const pair of raw.split(',')) {
    if (pair.trim() === '') continue;
    const eq = pair.indexOf('=');
    const key = (eq < 0 ? pair : pair.slice(0, eq)).trim();
    const value = eq < 0 ? '' : pair.slice(eq + 1).trim();
    if (key === '') fail(`"${pair}" has no tag key`);
    else if (key.length > 128)
      fail(`tag key "${key.slice(0, 20)}..." is longer than 128 characters`);
    else if (value.length > 256) fail(`tag "${key}" has a value longer than 256 characters`);
    else if (/^aws:/i.test(key)) fail(`tag key "${key}" uses the reserved "aws:" prefix`);
    else if (isReservedTagKey(key))
      fail(`tag key "${key}" is reserved: it marks which cluster and Service own a resource`);
    else if (!tagText.test(key) || !tagText.test(value))
      fail(
        `tag "${key}=${value}" has a character ELBv2 refuses (allowed: letters, digits, spaces, _ . : / = + - @)`,
      );
    else settings.additionalTags[key] = value;
  }
  const count = Object.keys(settings.additionalTags).length;
  if (count > maxAdditionalTags)
    fail(`${count} tags; ELBv2 allows ${maxAdditionalTags} beside the 3 kube-lbc sets`);
}

/** With static addresses the NLB carries one tag more (subnetMappingsTag). */
function checkTagRoom(settings: AwsServiceSettings, fail: (message: string) => void): void {
  const count = Object.keys(settings.additionalTags).length;
  if (settings.subnetMappings && count === maxAdditionalTags)
    fail(
      `${count} tags; ELBv2 allows ${maxAdditionalTags - 1} beside the 4 kube-lbc sets on an NLB with static addresses`,
    );
}

/**
 * cloud-provider-aws's meaning: `k=v` needs that value, a bare `k` (or `k=`) only the label.
 * Keys and values are checked as Kubernetes checks labels, so a typo cannot match no node.
 */
function parseNodeLabels(
  raw: string,
  settings: AwsServiceSettings,
  fail: (message: string) => void,
): void {
  const selector: Record<string, string | undefined> = {};
  for (const pair of raw.split(',')) {
    if (pair.trim() === '') continue;
    const eq = pair.indexOf('=');
    const key = (eq < 0 ? pair : pair.slice(0, eq)).trim();
    const value = eq < 0 ? '' : pair.slice(eq + 1).trim();
    if (!isLabelKey(key)) fail(`"${key}" is not a label key`);
    else if (value !== '' && !labelValue.test(value))
      fail(`"${value}" is not a label value (at most 63 letters, digits, - _ .)`);
    else if (key in selector) fail(`"${key}" is given twice`);
    else selector[key] = value === '' ? undefined : value;
  }
  if (Object.keys(selector).length === 0) fail('names no label');
  else settings.targetNodeLabels = selector;
}

const labelValue = /^(?=.{1,63}$)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const dnsSubdomain =
  /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function isLabelKey(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const name = slash < 0 ? key : key.slice(slash + 1);
  return (slash < 0 || dnsSubdomain.test(key.slice(0, slash))) && labelValue.test(name);
}

/** aws-load-balancer-controller's rules: EIPs internet-facing only, private IPv4 internal only. */
function parseSubnetMappings(
  a: Readonly<Record<string, string>>,
  settings: AwsServiceSettings,
  fail: (key: string, message: string) => void,
): void {
  const kinds = [
    [
      annotation.eipAllocations,
      'eip',
      'internet-facing',
      /^eipalloc-[0-9a-f]{1,17}$/,
      'an EIP allocation ID (eipalloc-...)',
    ],
    [annotation.privateIpv4Addresses, 'private-ipv4', 'internal', null, 'an IPv4 address'],
  ] as const;
  for (const [key, kind, scheme, pattern, what] of kinds) {
    const raw = a[key];
    if (raw === undefined) continue;
    const values = raw
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
    const bad = values.filter((v) => (pattern ? !pattern.test(v) : isIP(v) !== 4));
    if (settings.subnetMappings) fail(key, `cannot be set with ${annotation.eipAllocations}`);
    else if (values.length === 0) fail(key, 'names no address');
    else if (bad.length > 0) fail(key, `"${bad.join('", "')}" is not ${what}`);
    else if (new Set(values).size !== values.length) fail(key, 'names an address twice');
    else if (settings.scheme !== scheme)
      fail(key, `applies to ${scheme} NLBs only; this one is ${settings.scheme}`);
    else if (settings.subnets && settings.subnets.length !== values.length)
      fail(
        key,
        `${values.length} addresses for ${settings.subnets.length} subnets in ${annotation.subnets}: give one per subnet`,
      );
    else settings.subnetMappings = { kind, values };
  }
}

/** ELBv2's pattern for tag keys and values. */
const tagText = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
/**
 * ELBv2 allows 50 tags on a resource; kube-lbc's ownership tags take 3. retiringTag is not
 * counted: an NLB with no room for it does without (see markRetiring).
 */
const maxAdditionalTags = 47;

function parseHealthCheck(
  a: Readonly<Record<string, string>>,
  hc: HealthCheckOverrides,
  fail: (key: string, message: string) => void,
): void {
  const protocol = a[annotation.hcProtocol];
  if (protocol !== undefined) {
    const upper = protocol.toUpperCase();
    if (upper === 'TCP' || upper === 'HTTP' || upper === 'HTTPS') hc.protocol = upper;
    else fail(annotation.hcProtocol, `"${protocol}" is not TCP, HTTP or HTTPS`);
  }
  const port = a[annotation.hcPort];
  if (port !== undefined) {
    if (port === 'traffic-port') hc.port = port;
    else {
      const n = parseIntStrict(port);
      if (n === undefined || n < 1 || n > 65535) {
        fail(annotation.hcPort, `"${port}" is not "traffic-port" or a port from 1 to 65535`);
      } else hc.port = n;
    }
  }
  const path = a[annotation.hcPath];
  if (path !== undefined) {
    if (!/^\/[\x21-\x7e]*$/.test(path) || path.length > 1024) {
      fail(annotation.hcPath, `"${path}" is not an absolute URL path`);
    } else hc.path = path;
  }
  const ranges: [keyof typeof annotation, keyof HealthCheckOverrides, number, number][] = [
    ['hcInterval', 'intervalSeconds', 5, 300],
    ['hcTimeout', 'timeoutSeconds', 2, 120],
    ['hcHealthy', 'healthyThreshold', 2, 10],
    ['hcUnhealthy', 'unhealthyThreshold', 2, 10],
  ];
  for (const [name, target, min, max] of ranges) {
    const raw = a[annotation[name]];
    if (raw === undefined) continue;
    const n = parseIntStrict(raw);
    if (n === undefined || n < min || n > max) {
      fail(annotation[name], `"${raw}" is not a whole number from ${min} to ${max}`);
    } else (hc as Record<string, unknown>)[target] = n;
  }
  // Against the default interval too: AWS refuses it only at the target-group write.
  const interval =
    a[annotation.hcInterval] === undefined ? defaultHealthCheckIntervalSeconds : hc.intervalSeconds;
  if (interval !== undefined && hc.timeoutSeconds !== undefined) {
    if (hc.timeoutSeconds >= interval) {
      fail(
        annotation.hcTimeout,
        `timeout ${hc.timeoutSeconds}s must be less than the interval (${interval}s)`,
      );
    }
  }
}

function parseIntStrict(raw: string): number | undefined {
  return /^\d{1,6}$/.test(raw.trim()) ? Number(raw.trim()) : undefined;
}
