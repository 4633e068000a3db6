/**
 * The Service and Node settings the local provider reads, parsed and validated in one place so
 * `validateService` and the balancer agree on what a Service asks for.
 */
import type { V1Node, V1Service } from '@kubernetes/client-node';
import { isIPv4 } from 'node:net';
import type { FieldError } from '../../contract/provider.js';
import { quote } from '../../contract/quote.js';
import { sourceRangesOf } from '../../contract/service-spec.js';
import { parseCidr, type IpRange } from './ipv4.js';
import { schedulerNames, type SchedulerName } from './schedulers/index.js';

export const schedulerAnnotation = 'kube-lbc.io/scheduler';
export const loadBalancerIPAnnotation = 'kube-lbc.io/load-balancer-ip';
export const weightAnnotation = 'kube-lbc.io/weight';

/** Upstream's default for `sessionAffinityConfig.clientIP.timeoutSeconds`. */
const defaultAffinitySeconds = 10_800;

export interface ServiceSettings {
  readonly scheduler: SchedulerName;
  /** `sessionAffinity: ClientIP`: a client keeps its backend this long after its last flow. */
  readonly affinityTimeoutMs: number | undefined;
  readonly requestedIP: string | undefined;
  /** Where `requestedIP` came from, as a field error names it. */
  readonly requestedIPField: string;
  /** Empty means every source is allowed. */
  readonly sourceRanges: readonly IpRange[];
}

export function parseServiceSettings(service: Readonly<V1Service>): {
  settings: ServiceSettings;
  errors: FieldError[];
} {
  const errors: FieldError[] = [];
  const annotations = service.metadata?.annotations ?? {};
  const spec = service.spec ?? {};

  let scheduler: SchedulerName = 'rr';
  const asked = annotations[schedulerAnnotation];
  if (asked !== undefined) {
    if ((schedulerNames as readonly string[]).includes(asked)) scheduler = asked as SchedulerName;
    else
      errors.push({
        field: `metadata.annotations[${schedulerAnnotation}]`,
        message: `${quote(asked)} is not one of ${schedulerNames.join(', ')}`,
      });
  }

  let affinityTimeoutMs: number | undefined;
  if (spec.sessionAffinity === 'ClientIP') {
    // Session affinity is source hashing: a scheduler annotation asking otherwise is a conflict.
    if (asked !== undefined && asked !== 'sh') {
      errors.push({
        field: `metadata.annotations[${schedulerAnnotation}]`,
        message: `${quote(asked)} conflicts with sessionAffinity ClientIP (which uses sh)`,
      });
    }
    scheduler = 'sh';
    const seconds = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? defaultAffinitySeconds;
    affinityTimeoutMs = seconds * 1000;
  }

  const fromAnnotation = annotations[loadBalancerIPAnnotation];
  const requestedIP = fromAnnotation ?? (spec.loadBalancerIP || undefined);
  // The annotation wins when present, even empty: an empty one is its own mistake to name.
  const requestedIPField =
    fromAnnotation !== undefined
      ? `metadata.annotations[${loadBalancerIPAnnotation}]`
      : 'spec.loadBalancerIP';
  if (requestedIP !== undefined && !isIPv4(requestedIP)) {
    errors.push({
      field: requestedIPField,
      message: `${quote(requestedIP)} is not an IPv4 address`,
    });
  }

  const sourceRanges: IpRange[] = [];
  const sources = sourceRangesOf(service);
  sources.ranges.forEach((text, i) => {
    const range = parseCidr(text);
    if (typeof range === 'string') {
      errors.push({ field: `${sources.field}[${i}]`, message: range });
    } else sourceRanges.push(range);
  });

  return {
    settings: { scheduler, affinityTimeoutMs, requestedIP, requestedIPField, sourceRanges },
    errors,
  };
}

/** A node's weight for wrr/wlc/sed/nq: `kube-lbc.io/weight`, default 1; 0 takes it out. */
export function nodeWeight(node: Readonly<V1Node>): number {
  const text = node.metadata?.annotations?.[weightAnnotation];
  if (text === undefined) return 1;
  const weight = Number(text);
  return Number.isInteger(weight) && weight >= 0 ? weight : 1;
}

/** InternalIP, else ExternalIP: the address the balancer sends to. */
export function nodeAddress(node: Readonly<V1Node>): string | undefined {
  const addresses = node.status?.addresses ?? [];
  return (
    addresses.find((a) => a.type === 'InternalIP')?.address ??
    addresses.find((a) => a.type === 'ExternalIP')?.address
  );
}
