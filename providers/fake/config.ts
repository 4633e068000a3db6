/**
 * The fake provider's `--cloud-config`, one schema. Every key is optional; an unknown key or a bad
 * value is a `ProviderConfigError` naming it, so a typo is caught at start-up rather than ignored.
 */
import { z } from 'zod';
import {
  type BOOLEAN_CAPABILITIES,
  PROTOCOLS,
  type Capabilities,
  type Protocol,
} from '../../contract/provider.js';
import { ProviderConfigError } from '../../contract/errors.js';
import {
  integer,
  mapping,
  MAX_TIMER_SECONDS,
  number,
  oneOf,
  parseConfig,
} from '../config-schema.js';
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

const capability = (description: string) =>
  z
    .boolean({ error: 'expected true or false' })
    .optional()
    .meta({ description, range: 'true, false' });

/** The whole file, declared once: validation and the README's table of keys follow from it. */
export const fakeConfigSchema = mapping({
  latencyMs: number(0, MAX_TIMER_SECONDS * 1000, {
    description: 'delay charged to every cloud call, in ms',
  }).optional(),
  ingress: z
    .string({ error: 'expected "ip", "hostname", or an IP address or hostname' })
    .transform((value, ctx) => {
      const mode = parseIngressMode(value);
      if (!mode)
        ctx.addIssue({
          code: 'custom',
          message: 'expected "ip", "hostname", or an IP address or hostname',
        });
      return mode ?? 'ip';
    })
    .optional()
    .meta({
      description:
        '`ip`: a distinct address per load balancer (192.0.2.0/24, then 198.18.0.0/15); `hostname`: `<lb-name>.lb.fake.example`; or one IP or hostname every load balancer reports (default `ip`)',
      range: 'ip, hostname, an IP or a hostname',
    }),
  failureRate: number(0, 1, {
    description: 'probability that a cloud call fails with a retryable `CloudError`',
  }).optional(),
  throttleRate: number(0, 1, {
    description:
      'probability that a call starts a burst of throttled answers (`CloudError` with `throttled`)',
  }).optional(),
  throttleBurst: integer(0, 1_000_000, {
    description: 'calls throttled in one burst (default 10)',
  }).optional(),
  lostAnswerRate: number(0, 1, {
    description:
      'probability that a write is made and its answer then lost (a retryable `CloudError`; over HTTP, a reset connection)',
  }).optional(),
  cloudUrl: z
    .string({ error: 'expected an http:// URL' })
    .refine((v) => URL.canParse(v) && new URL(v).protocol === 'http:', {
      error: 'expected an http:// URL',
    })
    .optional()
    .meta({
      description:
        "work on a fake cloud another process serves (`startFakeCloudServer(cloud)`), shared by every replica; the keys that set the cloud's switches are then refused (they are the server's)",
      range: 'an http:// URL',
    }),
  provisioningDelayMs: number(0, MAX_TIMER_SECONDS * 1000, {
    description:
      'for this long after creation, `ensureLoadBalancer` throws `RetryAfterError` carrying the status, in ms',
  }).optional(),
  capabilities: mapping({
    targetsNodePorts: capability('the load balancer targets NodePorts'),
    protocols: z
      .array(
        z.enum(PROTOCOLS as readonly [Protocol, ...Protocol[]], {
          error: 'expected TCP, UDP or SCTP',
        }),
        { error: 'expected a list of TCP, UDP, SCTP' },
      )
      .optional()
      .meta({ description: 'protocols a Service port may use', range: 'list of TCP, UDP, SCTP' }),
    mixedProtocols: capability('TCP and UDP on one load balancer'),
    requestedIP: capability('honours spec.loadBalancerIP'),
    sourceRanges: capability('honours spec.loadBalancerSourceRanges'),
    dualStack: capability('serves IPv4 and IPv6'),
    needsProviderID: capability('targets only nodes with a spec.providerID'),
    ipMode: oneOf(['VIP', 'Proxy'], { description: 'the ingress ipMode reported' }).optional(),
  } satisfies Record<
    (typeof BOOLEAN_CAPABILITIES)[number] | 'protocols' | 'ipMode',
    z.ZodType
  >).optional(),
});

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
  const config = parseConfig(fakeConfigSchema, raw) as FakeConfig;
  const switched = config.cloudUrl ? cloudSwitches.find((k) => config[k] !== undefined) : undefined;
  if (switched) {
    throw new ProviderConfigError(switched, 'set on the cloud server when cloudUrl is given');
  }
  return config;
}
