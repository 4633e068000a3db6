/**
 * The `local` provider's `--cloud-config`: one schema, validated once, frozen, every unknown key
 * and every number out of its range rejected with a `ProviderConfigError` naming the key (a typo
 * must not silently fall back to a default, and `.inf` must not reach a timer).
 */
import { z } from 'zod';
import { quote } from '../../contract/quote.js';
import {
  integer,
  mapping,
  MAX_TIMER_SECONDS,
  number,
  oneOf,
  parseConfig,
} from '../config-schema.js';
import { parseCidr, parseRange, type IpRange } from './ipv4.js';

/**
 * `in-process`: the controller allocates addresses and serves the listeners itself (sandbox,
 * single-node clusters). `controller`: the controller only allocates and writes status; edge
 * nodes run `kube-lbc proxy`.
 */
export type LocalMode = 'in-process' | 'controller';

/**
 * How the TCP data path moves bytes: `auto` by the native relay (epoll and splice on a thread,
 * Linux, `make native`) where it is built and in JavaScript elsewhere; `native` refuses to start
 * without it; `js` always in JavaScript.
 */
export type TcpRelay = 'auto' | 'native' | 'js';

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
  readonly tcpRelay: TcpRelay;
  readonly healthCheck: HealthCheckConfig;
}

/** The most addresses one pool entry may hold: a /8. `0.0.0.0/0` is a typo, not a pool. */
export const MAX_POOL_ENTRY = 2 ** 24;

const seconds = (min: number, description: string) =>
  number(min, MAX_TIMER_SECONDS, { description: `${description}, in seconds` });

/** The whole file, declared once: validation and the README's table of keys follow from it. */
export const localConfigSchema = mapping({
  addresses: z
    .array(z.string({ error: 'expected a CIDR or an a-b range' }).transform(toPoolRange), {
      error: 'expected a non-empty list of CIDRs or a-b ranges',
    })
    .min(1, { error: 'expected a non-empty list of CIDRs or a-b ranges' })
    .meta({
      description: `the pool: IPv4 CIDRs, a-b ranges or addresses, each at most a /8, none in 0.0.0.0/8, 224.0.0.0/4 or 240.0.0.0/4 (required)`,
      range: 'list of CIDRs or a-b ranges',
    }),
  mode: oneOf(['in-process', 'controller'], {
    description: 'in-process: the controller serves; controller: edge nodes run `kube-lbc proxy`',
  }).default('in-process'),
  maxConnections: integer(1, 1_000_000, {
    description: 'open TCP connections or UDP flows per listener; more are refused',
  }).default(10_000),
  tcpIdleTimeoutSeconds: seconds(
    0.01,
    'a TCP connection idle either way this long is closed',
  ).default(300),
  udpIdleTimeoutSeconds: seconds(0.01, 'a UDP flow idle either way this long is forgotten').default(
    30,
  ),
  listenPortOffset: integer(0, 60_000, {
    description:
      'added to each Service port when binding (lets an unprivileged sandbox serve port 80)',
  }).default(0),
  tcpRelay: oneOf(['auto', 'native', 'js'], {
    description:
      'how TCP bytes move: auto takes the native relay (Linux, `make native`) where built, else JavaScript; native refuses to start without it',
  }).default('auto'),
  healthCheck: mapping({
    intervalSeconds: seconds(0.01, 'time between two checks of a backend').default(5),
    timeoutSeconds: seconds(0.01, 'a check not answered in this time failed').default(2),
    unhealthyThreshold: integer(1, 100, {
      description: 'consecutive failures before a backend is taken out',
    }).default(2),
    healthyThreshold: integer(1, 100, {
      description: 'consecutive successes before it is put back',
    }).default(1),
  }).prefault({}),
});

export function parseLocalConfig(raw: Readonly<Record<string, unknown>>): LocalConfig {
  const c = parseConfig(localConfigSchema, raw);
  return Object.freeze({
    addresses: Object.freeze(c.addresses),
    mode: c.mode,
    maxConnections: c.maxConnections,
    tcpIdleTimeoutMs: 1000 * c.tcpIdleTimeoutSeconds,
    udpIdleTimeoutMs: 1000 * c.udpIdleTimeoutSeconds,
    listenPortOffset: c.listenPortOffset,
    tcpRelay: c.tcpRelay,
    healthCheck: Object.freeze({
      intervalMs: 1000 * c.healthCheck.intervalSeconds,
      timeoutMs: 1000 * c.healthCheck.timeoutSeconds,
      unhealthyThreshold: c.healthCheck.unhealthyThreshold,
      healthyThreshold: c.healthCheck.healthyThreshold,
    }),
  });
}

/** Blocks no load balancer may answer on: "this network", multicast, reserved and broadcast. */
const NOT_FOR_HOSTS = ['0.0.0.0/8', '224.0.0.0/4', '240.0.0.0/4'].map(
  (c) => parseCidr(c) as IpRange,
);

function toPoolRange(text: string, ctx: z.RefinementCtx): IpRange {
  const range = parseRange(text);
  const problem =
    typeof range === 'string'
      ? range
      : range.last - range.first + 1 > MAX_POOL_ENTRY
        ? `${quote(text)} holds ${range.last - range.first + 1} addresses, more than ${MAX_POOL_ENTRY} (a /8)`
        : NOT_FOR_HOSTS.some((b) => range.first <= b.last && range.last >= b.first)
          ? `${quote(text)} overlaps 0.0.0.0/8, 224.0.0.0/4 or 240.0.0.0/4, which no host address may be in`
          : undefined;
  if (problem) ctx.addIssue({ code: 'custom', message: problem, input: undefined });
  return typeof range === 'string' ? { first: 0, last: 0 } : range;
}
