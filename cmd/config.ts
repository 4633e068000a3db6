/**
 * The one configuration object, built from flags in `cmd/` and frozen; nothing else reads flags
 * or the environment. `validate` returns every problem at once, each naming the flag and value.
 */
import type { NodePortRange } from '../controllers/service/nodeports.js';
import { parseBindAddress } from '../runtime/http-server.js';
import { quote, truncate } from '../runtime/quote.js';
import { parseDuration } from './duration.js';

/** The longest duration a flag takes: Node's timer limit, 2^31 - 1 ms (about 596 h). */
const MAX_DURATION_MS = 2 ** 31 - 1;

export interface LeaderElectionConfig {
  readonly enabled: boolean;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly resourceName: string;
  readonly resourceNamespace: string;
}

export interface Config {
  readonly kubeconfig: string | undefined;
  readonly cloudProvider: string;
  readonly cloudConfigPath: string | undefined;
  readonly clusterName: string;
  readonly concurrentServiceSyncs: number;
  readonly loadBalancerClasses: readonly string[];
  readonly handleUnclassed: boolean;
  readonly nodeSyncPeriodMs: number;
  readonly nodeSyncBatchWindowMs: number;
  readonly nodePortRange: NodePortRange;
  readonly gcPeriodMs: number;
  readonly loadBalancerResyncPeriodMs: number;
  /** Overrides of the provider's default call budget; undefined keeps the provider's. */
  readonly cloudQps: number | undefined;
  readonly cloudBurst: number | undefined;
  readonly leaderElection: LeaderElectionConfig;
  readonly metricsBindAddress: string;
  readonly healthProbeBindAddress: string;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  readonly logFormat: 'json' | 'text';
  readonly shutdownGracePeriodMs: number;
}

/** Flag values as commander hands them over: strings, booleans and string lists. */
export type RawFlags = Record<string, string | boolean | string[] | undefined>;

export class ConfigError extends Error {
  constructor(readonly errors: readonly string[]) {
    super(errors.join('\n'));
    this.name = 'ConfigError';
  }
}

/** Turns raw flags into a frozen Config, or throws ConfigError listing every bad flag. */
export function buildConfig(flags: RawFlags): Config {
  const errors: string[] = [];
  const str = (name: string) => flags[name] as string | undefined;
  const int = (name: string, min: number, max: number) => {
    const raw = str(name);
    const n = /^\d+$/.test(raw ?? '') ? Number(raw) : NaN;
    if (!(n >= min && n <= max)) errors.push(`--${name}: expected an integer from ${min} to ${max}, got ${quote(raw)}`);
    return n;
  };
  const optionalNumber = (name: string, max: number, integer = false) => {
    const raw = str(name);
    if (raw === undefined) return undefined;
    const n = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
    if (!(n > 0 && n <= max) || (integer && !Number.isInteger(n))) {
      errors.push(`--${name}: expected ${integer ? 'an integer' : 'a number'} above 0 and up to ${max}, got ${quote(raw)}`);
    }
    return n;
  };
  // Node's timers keep at most 2^31 - 1 ms; a longer delay fires after 1 ms, a busy loop.
  const duration = (name: string, allowZero = false) => {
    const raw = str(name) ?? '';
    const ms = parseDuration(raw);
    if (Number.isNaN(ms) || (!allowZero && ms <= 0) || ms > MAX_DURATION_MS) {
      errors.push(`--${name}: expected a duration such as 15s or 1m30s${allowZero ? ' (0 disables)' : ', above 0'}, up to 596h, got ${quote(raw)}`);
    }
    return ms;
  };
  const bool = (name: string) => {
    const raw = flags[name];
    if (typeof raw === 'boolean') return raw;
    if (raw === 'true' || raw === 'false') return raw === 'true';
    errors.push(`--${name}: expected true or false, got ${quote(raw)}`);
    return false;
  };
  const bindAddress = (name: string) => {
    const raw = str(name) ?? '';
    const error = bindAddressError(name, raw);
    if (error) errors.push(error);
    return raw;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[]) => {
    const raw = str(name) as T;
    if (!allowed.includes(raw)) errors.push(`--${name}: expected one of ${allowed.join(', ')}, got ${quote(raw)}`);
    return raw;
  };

  const cloudProvider = str('cloud-provider') ?? '';
  if (!cloudProvider) errors.push('--cloud-provider: required (a built-in name such as aws, local or fake, or a plugin module)');
  const classes = (flags['load-balancer-class'] as string[] | undefined) ?? [];
  classes.forEach((c) => {
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(\/[-a-zA-Z0-9_.]+)?$/.test(c)) {
      errors.push(`--load-balancer-class: ${quote(c)} is not a valid class name (a domain-prefixed name such as example.com/lb)`);
    }
  });
  const handleUnclassed = bool('handle-unclassed');
  if (classes.length === 0 && !handleUnclassed) {
    errors.push('--handle-unclassed=false with no --load-balancer-class: the controller would act on nothing');
  }
  const range = parseRange(str('service-node-port-range') ?? '');
  if (!range) errors.push(`--service-node-port-range: expected MIN-MAX within 1-65535, got ${quote(str('service-node-port-range'))}`);

  const leaseDurationMs = duration('leader-elect-lease-duration');
  const renewDeadlineMs = duration('leader-elect-renew-deadline');
  const retryPeriodMs = duration('leader-elect-retry-period');
  if (renewDeadlineMs >= leaseDurationMs) {
    errors.push(`--leader-elect-renew-deadline (${truncate(str('leader-elect-renew-deadline') ?? '', 20)}) must be shorter than --leader-elect-lease-duration (${truncate(str('leader-elect-lease-duration') ?? '', 20)})`);
  }
  if (retryPeriodMs >= renewDeadlineMs) {
    errors.push(`--leader-elect-retry-period (${truncate(str('leader-elect-retry-period') ?? '', 20)}) must be shorter than --leader-elect-renew-deadline (${truncate(str('leader-elect-renew-deadline') ?? '', 20)})`);
  } else if (!(renewDeadlineMs > 1.2 * retryPeriodMs)) {
    // client-go's (and our elector's) rule: the jittered retry must fit in the renew deadline.
    errors.push(`--leader-elect-renew-deadline (${truncate(str('leader-elect-renew-deadline') ?? '', 20)}) must be more than 1.2 x --leader-elect-retry-period (${truncate(str('leader-elect-retry-period') ?? '', 20)})`);
  }

  const leaderElect = bool('leader-elect');
  // As upstream's ValidateLeaderElectionConfiguration: with election on, the Lease must be one the
  // API server accepts; else the replica campaigns forever, never leads, and still reports ready.
  const resourceName = str('leader-elect-resource-name') ?? '';
  const resourceNamespace = str('leader-elect-resource-namespace') ?? '';
  if (leaderElect) {
    if (!DNS_SUBDOMAIN.test(resourceName) || resourceName.length > 253) {
      errors.push(`--leader-elect-resource-name: ${quote(resourceName)} is not a valid Lease name (lower-case letters, digits, '-' and '.', starting and ending alphanumeric)`);
    }
    if (!DNS_LABEL.test(resourceNamespace)) {
      errors.push(`--leader-elect-resource-namespace: ${quote(resourceNamespace)} is not a valid namespace (1-63 lower-case letters, digits or '-', starting and ending alphanumeric)`);
    }
  }

  const config: Config = {
    kubeconfig: str('kubeconfig'),
    cloudProvider,
    cloudConfigPath: str('cloud-config'),
    clusterName: validName(str('cluster-name') ?? '', errors),
    concurrentServiceSyncs: int('concurrent-service-syncs', 1, 10_000),
    loadBalancerClasses: Object.freeze([...new Set(classes)]),
    handleUnclassed,
    nodeSyncPeriodMs: duration('node-sync-period'),
    nodeSyncBatchWindowMs: duration('node-sync-batch-window', true),
    nodePortRange: Object.freeze(range ?? { min: 30000, max: 32767 }),
    gcPeriodMs: duration('gc-period', true),
    loadBalancerResyncPeriodMs: duration('load-balancer-resync-period', true),
    cloudQps: optionalNumber('cloud-qps', 100_000),
    cloudBurst: optionalNumber('cloud-burst', 100_000, true),
    leaderElection: Object.freeze({
      enabled: leaderElect,
      leaseDurationMs,
      renewDeadlineMs,
      retryPeriodMs,
      resourceName,
      resourceNamespace,
    }),
    metricsBindAddress: bindAddress('metrics-bind-address'),
    healthProbeBindAddress: bindAddress('health-probe-bind-address'),
    logLevel: oneOf('log-level', ['debug', 'info', 'warn', 'error'] as const),
    logFormat: oneOf('log-format', ['json', 'text'] as const),
    shutdownGracePeriodMs: duration('shutdown-grace-period'),
  };
  if (errors.length) throw new ConfigError(errors);
  return Object.freeze(config);
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function parseRange(text: string): { min: number; max: number } | undefined {
  const m = /^(\d+)-(\d+)$/.exec(text);
  if (!m) return undefined;
  const min = Number(m[1]);
  const max = Number(m[2]);
  return min >= 1 && max <= 65535 && min <= max ? { min, max } : undefined;
}

function validName(name: string, errors: string[]): string {
  if (!DNS_LABEL.test(name)) {
    errors.push(`--cluster-name: ${quote(name)} must be 1-63 lower-case letters, digits or '-', starting and ending alphanumeric`);
  }
  return name;
}

/** A `--*-bind-address` value the HTTP server cannot read (`host:port`, `[v6]:port`, `:port` or `0`), named. */
export function bindAddressError(flag: string, value: string): string | undefined {
  try {
    parseBindAddress(value);
    return undefined;
  } catch {
    return `--${flag}: expected host:port, [v6]:port, :port or 0 to disable, got ${quote(value)}`;
  }
}
