/**
 * The fake provider's `--cloud-config`. Every key is optional; an unknown key or a bad value is a
 * `ProviderConfigError` naming it, so a typo is caught at start-up rather than ignored.
 */
import { ProviderConfigError } from '../../contract/errors.js';
import {
  BOOLEAN_CAPABILITIES,
  PROTOCOLS,
  type Capabilities,
  type Protocol,
} from '../../contract/provider.js';
import { parseIngressMode, type IngressMode } from './addresses.js';

export interface FakeConfig {
  /** Delay charged to every cloud call. */
  readonly latencyMs?: number;
  /** `ip` (a distinct IP per load balancer), `hostname`, or a fixed IP or hostname. */
  readonly ingress?: IngressMode;
  /** Probability (0..1) that a cloud call fails with a retryable error. */
  readonly failureRate?: number;
  /** Probability (0..1) that a cloud call starts a burst of throttled answers. */
  readonly throttleRate?: number;
  /** Calls throttled in one burst. */
  readonly throttleBurst?: number;
  /** Probability (0..1) that a write is made and its answer then lost. */
  readonly lostAnswerRate?: number;
  /**
   * A fake cloud served by another process (`startFakeCloudServer`), shared by every replica.
   * Its switches are that process's: the keys that set them are refused alongside this one.
   */
  readonly cloudUrl?: string;
  /** How long after creation `ensureLoadBalancer` answers "still provisioning". */
  readonly provisioningDelayMs?: number;
  /** Overrides of the default capabilities. */
  readonly capabilities?: Partial<Capabilities>;
}

/** The keys that set switches of the cloud itself, not of the provider. */
const cloudSwitches = [
  'latencyMs',
  'ingress',
  'failureRate',
  'throttleRate',
  'throttleBurst',
  'lostAnswerRate',
] as const;

export function parseFakeConfig(raw: Readonly<Record<string, unknown>>): FakeConfig {
  const config: {
    -readonly [K in keyof FakeConfig]: FakeConfig[K];
  } = {};
  for (const [key, value] of Object.entries(raw)) {
    switch (key) {
      case 'latencyMs':
      case 'provisioningDelayMs':
        config[key] = nonNegative(key, value);
        break;
      case 'throttleBurst':
        config[key] = nonNegative(key, value);
        break;
      case 'failureRate':
      case 'throttleRate':
      case 'lostAnswerRate':
        config[key] = nonNegative(key, value);
        if (config[key] > 1) throw bad(key, value, 'a number from 0 to 1');
        break;
      case 'cloudUrl': {
        const url = typeof value === 'string' && URL.canParse(value) ? new URL(value) : undefined;
        if (url?.protocol !== 'http:') throw bad(key, value, 'an http:// URL');
        config.cloudUrl = value as string;
        break;
      }
      case 'ingress': {
        const mode = typeof value === 'string' ? parseIngressMode(value) : undefined;
        if (!mode) throw bad(key, value, '"ip", "hostname", or an IP address or hostname');
        config.ingress = mode;
        break;
      }
      case 'capabilities':
        config.capabilities = parseCapabilities(value);
        break;
      default:
        throw new ProviderConfigError(
          key,
          'unknown key (known: latencyMs, ingress, failureRate, throttleRate, throttleBurst, lostAnswerRate, provisioningDelayMs, cloudUrl, capabilities)',
        );
    }
  }
  const switched = config.cloudUrl ? cloudSwitches.find((k) => config[k] !== undefined) : undefined;
  if (switched) {
    throw new ProviderConfigError(switched, 'set on the cloud server when cloudUrl is given');
  }
  return config;
}

function parseCapabilities(value: unknown): Partial<Capabilities> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw bad('capabilities', value, 'a mapping');
  }
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(value)) {
    const key = `capabilities.${name}`;
    if ((BOOLEAN_CAPABILITIES as readonly string[]).includes(name)) {
      if (typeof v !== 'boolean') throw bad(key, v, 'true or false');
    } else if (name === 'protocols') {
      if (!Array.isArray(v) || v.some((p) => !PROTOCOLS.includes(p as Protocol))) {
        throw bad(key, v, 'a list of TCP, UDP, SCTP');
      }
    } else if (name === 'ipMode') {
      if (v !== 'VIP' && v !== 'Proxy') throw bad(key, v, 'VIP or Proxy');
    } else {
      throw new ProviderConfigError(key, 'unknown capability');
    }
    out[name] = v;
  }
  return out as Partial<Capabilities>;
}

function nonNegative(key: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw bad(key, value, 'a number >= 0');
  }
  return value;
}

function bad(key: string, value: unknown, expected: string): ProviderConfigError {
  return new ProviderConfigError(key, `expected ${expected}, got ${JSON.stringify(value)}`);
}
