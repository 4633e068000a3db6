/**
 * The one configuration object, built from flags and frozen; nothing else reads flags or the
 * environment. As upstream's `options/` package, each flag group has its own validator, and
 * `buildConfig` reports every problem of every group at once, each naming the flag and value.
 */
import type { CallBudget } from '../../contract/cloud-calls.js';
import type { NodePortRange } from '../../controllers/service/nodeports.js';
import { quote, truncate } from '../../contract/quote.js';
import { providerSpecifierError } from '../../contract/provider-specifier.js';
import { parseBindAddress } from '../../runtime/http-server.js';
import { FlagReader, type RawFlags } from './flag-reader.js';

export type { RawFlags } from './flag-reader.js';

export interface LeaderElectionConfig {
  readonly enabled: boolean;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly resourceName: string;
  readonly resourceNamespace: string;
}

/** What the provider is and how it is reached: `--cloud-provider`, `--cloud-config`, budgets. */
export interface ProviderConfig {
  readonly cloudProvider: string;
  readonly cloudConfigPath: string | undefined;
  readonly clusterName: string;
  /** Overrides of the provider's default call budget; undefined keeps the provider's. */
  readonly cloudQps: number | undefined;
  readonly cloudBurst: number | undefined;
  /**
   * `--cloud-budget family=qps:burst[:concurrency]`, per family: replaces that budget of the
   * provider's. Family names are the provider's; one it does not declare is refused at start-up.
   */
  readonly cloudBudgets: Readonly<Record<string, Readonly<Partial<CallBudget>>>>;
  /** `/healthz` fails when the cloud-call gate has not moved for this long while calls wait; 0 never. */
  readonly cloudCallStallTimeoutMs: number;
}

/** The service controller's own flags. */
export interface ServiceControllerConfig {
  readonly concurrentServiceSyncs: number;
  readonly loadBalancerClasses: readonly string[];
  readonly handleUnclassed: boolean;
  readonly nodeSyncPeriodMs: number;
  readonly nodeSyncBatchWindowMs: number;
  readonly nodePortRange: NodePortRange;
  readonly gcPeriodMs: number;
  readonly loadBalancerResyncPeriodMs: number;
}

/** The process: where it connects, serves, logs, and how long it drains. */
export interface ProcessConfig {
  readonly kubeconfig: string | undefined;
  readonly metricsBindAddress: string;
  readonly healthProbeBindAddress: string;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  readonly logFormat: 'json' | 'text';
  readonly shutdownGracePeriodMs: number;
}

export interface Config extends ProviderConfig, ServiceControllerConfig, ProcessConfig {
  readonly leaderElection: LeaderElectionConfig;
}

export class ConfigError extends Error {
  constructor(readonly errors: readonly string[]) {
    super(errors.join('\n'));
    this.name = 'ConfigError';
  }
}

/** Turns raw flags into a frozen Config, or throws ConfigError listing every bad flag. */
export function buildConfig(flags: RawFlags): Config {
  const read = new FlagReader(flags);
  const config: Config = {
    ...providerConfig(read),
    ...serviceControllerConfig(read),
    ...processConfig(read),
    leaderElection: Object.freeze(leaderElectionConfig(read)),
  };
  if (read.errors.length) throw new ConfigError(read.errors);
  return Object.freeze(config);
}

function providerConfig(read: FlagReader): ProviderConfig {
  const cloudProvider = read.str('cloud-provider') ?? '';
  if (!cloudProvider) {
    read.fail(
      '--cloud-provider: required (a built-in name such as aws, gcp, local or fake, or a plugin module)',
    );
  }
  const refused = cloudProvider ? providerSpecifierError(cloudProvider) : undefined;
  if (refused) read.fail(`--cloud-provider: ${refused}`);
  const clusterName = read.str('cluster-name') ?? '';
  if (!DNS_LABEL.test(clusterName)) {
    read.fail(
      `--cluster-name: ${quote(clusterName)} must be 1-63 lower-case letters, digits or '-', starting and ending alphanumeric`,
    );
  }
  return {
    cloudProvider,
    cloudConfigPath: read.str('cloud-config'),
    clusterName,
    cloudQps: read.optionalPositive('cloud-qps', 100_000),
    cloudBurst: read.optionalPositive('cloud-burst', 100_000, { integer: true }),
    cloudBudgets: cloudBudgets(read),
    cloudCallStallTimeoutMs: read.duration('cloud-call-stall-timeout', { allowZero: true }),
  };
}

/** `--cloud-budget`, repeatable: `describe=10:40`, `register=4:20:5`. */
function cloudBudgets(read: FlagReader): Readonly<Record<string, Readonly<Partial<CallBudget>>>> {
  const budgets: Record<string, Partial<CallBudget>> = {};
  for (const text of read.list('cloud-budget')) {
    const m = /^([a-z0-9][-a-z0-9]*)=([^:]+):([^:]+)(?::([^:]+))?$/.exec(text);
    const [qps, burst, concurrency] = m
      ? [Number(m[2]), Number(m[3]), m[4] === undefined ? undefined : Number(m[4])]
      : [];
    if (
      !m ||
      !(qps! > 0) ||
      !(burst! >= 1) ||
      (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1))
    ) {
      read.fail(
        `--cloud-budget: expected family=qps:burst[:concurrency] (qps above 0, burst at least 1, concurrency a whole number from 1), got "${text}"`,
      );
      continue;
    }
    if (m[1]! in budgets) read.fail(`--cloud-budget: family "${m[1]}" given twice`);
    budgets[m[1]!] = Object.freeze({
      qps,
      burst,
      ...(concurrency !== undefined && { concurrency }),
    });
  }
  return Object.freeze(budgets);
}

function serviceControllerConfig(read: FlagReader): ServiceControllerConfig {
  const classes = read.list('load-balancer-class');
  for (const c of classes) {
    if (!LOAD_BALANCER_CLASS.test(c)) {
      read.fail(
        `--load-balancer-class: ${quote(c)} is not a valid class name (a domain-prefixed name such as example.com/lb)`,
      );
    }
  }
  const handleUnclassed = read.bool('handle-unclassed');
  if (classes.length === 0 && !handleUnclassed) {
    read.fail(
      '--handle-unclassed=false with no --load-balancer-class: the controller would act on nothing',
    );
  }
  const rangeText = read.str('service-node-port-range') ?? '';
  const range = parseRange(rangeText);
  if (!range)
    read.fail(
      `--service-node-port-range: expected MIN-MAX within 1-65535, got ${quote(rangeText)}`,
    );
  return {
    concurrentServiceSyncs: read.int('concurrent-service-syncs', 1, 10_000),
    loadBalancerClasses: Object.freeze([...new Set(classes)]),
    handleUnclassed,
    nodeSyncPeriodMs: read.duration('node-sync-period'),
    nodeSyncBatchWindowMs: read.duration('node-sync-batch-window', { allowZero: true }),
    // Without a range the config is refused above; the placeholder never leaves this module.
    nodePortRange: Object.freeze(range ?? { min: 0, max: 0 }),
    gcPeriodMs: read.duration('gc-period', { allowZero: true }),
    loadBalancerResyncPeriodMs: read.duration('load-balancer-resync-period', { allowZero: true }),
  };
}

/**
 * As upstream's ValidateLeaderElectionConfiguration: the timings must nest (client-go's elector
 * refuses them otherwise, after start-up), and with election on the Lease must be one the API
 * server accepts; else the replica campaigns forever, never leads, and still reports ready.
 */
function leaderElectionConfig(read: FlagReader): LeaderElectionConfig {
  const leaseDurationMs = read.duration('leader-elect-lease-duration');
  const renewDeadlineMs = read.duration('leader-elect-renew-deadline');
  const retryPeriodMs = read.duration('leader-elect-retry-period');
  const [lease, renew, retry] = ['lease-duration', 'renew-deadline', 'retry-period'].map((f) =>
    truncate(read.str(`leader-elect-${f}`) ?? '', 20),
  );
  if (renewDeadlineMs >= leaseDurationMs) {
    read.fail(
      `--leader-elect-renew-deadline (${renew}) must be shorter than --leader-elect-lease-duration (${lease})`,
    );
  }
  if (retryPeriodMs >= renewDeadlineMs) {
    read.fail(
      `--leader-elect-retry-period (${retry}) must be shorter than --leader-elect-renew-deadline (${renew})`,
    );
  } else if (!(renewDeadlineMs > 1.2 * retryPeriodMs)) {
    // The jittered retry must fit in the renew deadline.
    read.fail(
      `--leader-elect-renew-deadline (${renew}) must be more than 1.2 x --leader-elect-retry-period (${retry})`,
    );
  }
  const enabled = read.bool('leader-elect');
  const resourceName = read.str('leader-elect-resource-name') ?? '';
  const resourceNamespace = read.str('leader-elect-resource-namespace') ?? '';
  if (enabled && (!DNS_SUBDOMAIN.test(resourceName) || resourceName.length > 253)) {
    read.fail(
      `--leader-elect-resource-name: ${quote(resourceName)} is not a valid Lease name (lower-case letters, digits, '-' and '.', starting and ending alphanumeric)`,
    );
  }
  if (enabled && !DNS_LABEL.test(resourceNamespace)) {
    read.fail(
      `--leader-elect-resource-namespace: ${quote(resourceNamespace)} is not a valid namespace (1-63 lower-case letters, digits or '-', starting and ending alphanumeric)`,
    );
  }
  return {
    enabled,
    leaseDurationMs,
    renewDeadlineMs,
    retryPeriodMs,
    resourceName,
    resourceNamespace,
  };
}

function processConfig(read: FlagReader): ProcessConfig {
  const bindAddress = (flag: string) => {
    const value = read.str(flag) ?? '';
    const error = bindAddressError(flag, value);
    if (error) read.fail(error);
    return value;
  };
  return {
    kubeconfig: read.str('kubeconfig'),
    metricsBindAddress: bindAddress('metrics-bind-address'),
    healthProbeBindAddress: bindAddress('health-probe-bind-address'),
    logLevel: read.oneOf('log-level', LOG_LEVELS),
    logFormat: read.oneOf('log-format', LOG_FORMATS),
    shutdownGracePeriodMs: read.duration('shutdown-grace-period'),
  };
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export const LOG_FORMATS = ['json', 'text'] as const;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LOAD_BALANCER_CLASS = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(\/[-a-zA-Z0-9_.]+)?$/;

function parseRange(text: string): NodePortRange | undefined {
  const m = /^(\d+)-(\d+)$/.exec(text);
  if (!m) return undefined;
  const min = Number(m[1]);
  const max = Number(m[2]);
  return min >= 1 && max <= 65535 && min <= max ? { min, max } : undefined;
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

/** `fn`'s value, or undefined with its ConfigError's messages added to `errors`. */
export function collectConfigErrors<T>(errors: string[], fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    errors.push(...err.errors);
    return undefined;
  }
}
