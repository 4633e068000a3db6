/**
 * The `local` provider's `--cloud-config`: validated once, frozen, every unknown key rejected with
 * a `ProviderConfigError` naming it (a typo must not silently fall back to a default).
 */
import { ProviderConfigError } from '../../contract/errors.js';
import { parseRange, type IpRange } from './ipv4.js';

/**
 * `in-process`: the controller allocates addresses and serves the listeners itself (sandbox,
 * single-node clusters). `controller`: the controller only allocates and writes status; edge
 * nodes run `kube-lbc proxy`.
 */
export type LocalMode = 'in-process' | 'controller';

export interface HealthCheckConfig {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Consecutive failures before a backend is taken out. */
  readonly unhealthyThreshold: number;
  /** Consecutive successes before it is put back. */
  readonly healthyThreshold: number;
}

export interface LocalConfig {
  readonly addresses: readonly IpRange[];
  readonly mode: LocalMode;
  /** Open connections (TCP) or flows (UDP) per listener; more are refused. */
  readonly maxConnections: number;
  /** A TCP connection with no traffic either way for this long is closed. */
  readonly tcpIdleTimeoutMs: number;
  /** A UDP flow with no datagram either way for this long is forgotten. */
  readonly udpIdleTimeoutMs: number;
  /** Added to each Service port when binding: lets an unprivileged sandbox serve port 80. */
  readonly listenPortOffset: number;
  readonly healthCheck: HealthCheckConfig;
}

const defaults = {
  mode: 'in-process' as LocalMode,
  maxConnections: 10_000,
  tcpIdleTimeoutSeconds: 300,
  udpIdleTimeoutSeconds: 30,
  healthCheck: {
    intervalSeconds: 5,
    timeoutSeconds: 2,
    unhealthyThreshold: 2,
    healthyThreshold: 1,
  },
};

const topKeys = [
  'addresses',
  'mode',
  'maxConnections',
  'tcpIdleTimeoutSeconds',
  'udpIdleTimeoutSeconds',
  'healthCheck',
  'listenPortOffset',
] as const;
const healthKeys = Object.keys(defaults.healthCheck);

export function parseLocalConfig(raw: Readonly<Record<string, unknown>>): LocalConfig {
  rejectUnknown(raw, topKeys, '');
  const addresses = raw.addresses;
  if (!Array.isArray(addresses) || addresses.length === 0) {
    throw new ProviderConfigError(
      'addresses',
      'a non-empty list of CIDRs or a-b ranges is required',
    );
  }
  const ranges = addresses.map((entry, i) => {
    const range =
      typeof entry === 'string' ? parseRange(entry) : `${JSON.stringify(entry)} is not a string`;
    if (typeof range === 'string') throw new ProviderConfigError(`addresses[${i}]`, range);
    return range;
  });
  const mode = raw.mode ?? defaults.mode;
  if (mode !== 'in-process' && mode !== 'controller') {
    throw new ProviderConfigError('mode', `"${String(mode)}" is not one of in-process, controller`);
  }
  const hc = (raw.healthCheck ?? {}) as Record<string, unknown>;
  if (typeof hc !== 'object' || Array.isArray(hc)) {
    throw new ProviderConfigError('healthCheck', 'must be a mapping');
  }
  rejectUnknown(hc, healthKeys, 'healthCheck.');
  const hcNum = (key: keyof typeof defaults.healthCheck) =>
    positive(hc[key] ?? defaults.healthCheck[key], `healthCheck.${key}`);
  return Object.freeze({
    addresses: Object.freeze(ranges),
    mode,
    maxConnections: positive(raw.maxConnections ?? defaults.maxConnections, 'maxConnections'),
    tcpIdleTimeoutMs:
      1000 *
      positive(
        raw.tcpIdleTimeoutSeconds ?? defaults.tcpIdleTimeoutSeconds,
        'tcpIdleTimeoutSeconds',
      ),
    udpIdleTimeoutMs:
      1000 *
      positive(
        raw.udpIdleTimeoutSeconds ?? defaults.udpIdleTimeoutSeconds,
        'udpIdleTimeoutSeconds',
      ),
    listenPortOffset: portOffset(raw.listenPortOffset ?? 0),
    healthCheck: Object.freeze({
      intervalMs: 1000 * hcNum('intervalSeconds'),
      timeoutMs: 1000 * hcNum('timeoutSeconds'),
      unhealthyThreshold: Math.ceil(hcNum('unhealthyThreshold')),
      healthyThreshold: Math.ceil(hcNum('healthyThreshold')),
    }),
  });
}

function rejectUnknown(obj: object, known: readonly string[], prefix: string): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) {
      throw new ProviderConfigError(`${prefix}${key}`, `unknown key (known: ${known.join(', ')})`);
    }
  }
}

function positive(value: unknown, key: string): number {
  if (typeof value !== 'number' || !(value > 0)) {
    throw new ProviderConfigError(key, `${JSON.stringify(value)} is not a positive number`);
  }
  return value;
}

function portOffset(value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 60_000) {
    throw new ProviderConfigError(
      'listenPortOffset',
      `${JSON.stringify(value)} is not an integer in 0..60000`,
    );
  }
  return value as number;
}
