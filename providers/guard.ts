/**
 * What a provider hands back is checked before the core trusts it, since a plugin is someone
 * else's code: the factory must give a provider, `validateService` must return field errors (not
 * throw), and a status must be one the API server accepts. Otherwise a bad answer surfaces as a
 * 422 on the status write with no condition and no Event, a raw TypeError at start-up, or a
 * process that exits 13 with nothing said. Each check names the provider and what it did wrong.
 */
import { isIP } from 'node:net';
import type { V1LoadBalancerIngress, V1Service } from '@kubernetes/client-node';
import { errorMessage, RetryAfterError } from '../contract/errors.js';
import type { FieldError, LoadBalancerProvider, LoadBalancerStatus } from '../contract/provider.js';
import { quote } from '../contract/quote.js';

/**
 * A provider broke the contract at run time (a bad status, a throwing `validateService`). The
 * core treats it as a failed sync of that Service: a Failed condition and a Warning naming the
 * provider, retried with backoff; other Services carry on.
 */
export class ProviderContractError extends Error {
  constructor(
    readonly providerName: string,
    what: string,
    options?: { cause?: unknown },
  ) {
    super(`provider ${quote(providerName)} ${what}`, options);
    this.name = 'ProviderContractError';
  }
}

const METHODS = [
  'loadBalancerName',
  'validateService',
  'getLoadBalancer',
  'ensureLoadBalancer',
  'updateLoadBalancerHosts',
  'ensureLoadBalancerDeleted',
] as const;

/** What is wrong with what a factory returned, or undefined when it is a provider. */
export function notAProvider(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) {
    return `its factory returned ${value === null ? 'null' : typeof value}, not a provider object`;
  }
  const p = value as Record<string, unknown>;
  if (typeof p.name !== 'string' || p.name === '')
    return 'its factory returned an object without a name (a non-empty string)';
  if (
    typeof p.capabilities !== 'object' ||
    p.capabilities === null ||
    !Array.isArray((p.capabilities as { protocols?: unknown }).protocols)
  ) {
    return 'its factory returned an object without capabilities (with a protocols list)';
  }
  if (
    typeof p.callBudgets !== 'object' ||
    p.callBudgets === null ||
    typeof (p.callBudgets as { default?: unknown }).default !== 'object'
  ) {
    return 'its factory returned an object without callBudgets.default';
  }
  const missing = METHODS.filter((m) => typeof p[m] !== 'function');
  if (missing.length)
    return `its factory returned an object without ${missing.join(', ')} (functions)`;
  return undefined;
}

/**
 * `provider` with its answers checked. The same object is returned in behaviour: anything not
 * checked here is the provider's own, `this` included, so a built-in's extra members still work.
 */
export function guardProvider<P extends LoadBalancerProvider>(label: string, provider: P): P {
  const name = provider.name || label;
  const checked: Partial<LoadBalancerProvider> = {
    validateService(svc: Readonly<V1Service>): readonly FieldError[] {
      let errors: unknown;
      try {
        errors = provider.validateService(svc);
      } catch (err) {
        throw new ProviderContractError(name, `validateService threw: ${errorMessage(err)}`, {
          cause: err,
        });
      }
      const ok =
        Array.isArray(errors) &&
        errors.every((e) => typeof e?.field === 'string' && typeof e?.message === 'string');
      if (!ok)
        throw new ProviderContractError(
          name,
          `validateService returned ${quote(errors)}, not a list of { field, message }`,
        );
      return errors as FieldError[];
    },
    async ensureLoadBalancer(ctx, clusterName, svc, nodes) {
      let status: LoadBalancerStatus;
      try {
        status = await provider.ensureLoadBalancer(ctx, clusterName, svc, nodes);
      } catch (err) {
        const retry = err instanceof RetryAfterError ? err : undefined;
        const problem = retry?.status && statusProblem(retry.status);
        if (problem)
          throw new ProviderContractError(
            name,
            `returned an invalid status while provisioning: ${problem}`,
          );
        throw err;
      }
      const problem = statusProblem(status);
      if (problem) throw new ProviderContractError(name, `returned an invalid status: ${problem}`);
      return status;
    },
  };
  return new Proxy(provider, {
    get(target, prop) {
      if (prop in checked) return checked[prop as keyof typeof checked];
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];

/**
 * Why the API server would refuse `status` as `status.loadBalancer` (its ValidateLoadBalancerStatus
 * rules), or undefined when it would take it.
 */
export function statusProblem(status: unknown): string | undefined {
  const ingress = (status as LoadBalancerStatus | undefined)?.ingress;
  if (!Array.isArray(ingress)) return `${quote(status)} has no ingress list`;
  if (ingress.length > 100) return `${ingress.length} ingress entries, more than 100`;
  for (const [i, entry] of (ingress as unknown[]).entries()) {
    const problem = ingressProblem(entry);
    if (problem) return `ingress[${i}]${problem}`;
  }
  return undefined;
}

function ingressProblem(entry: unknown): string | undefined {
  if (typeof entry !== 'object' || entry === null) return `: ${quote(entry)} is not an object`;
  const { ip, hostname, ipMode, ports } = entry as V1LoadBalancerIngress;
  if (ip === undefined && hostname === undefined) return ': has neither ip nor hostname';
  if (ip !== undefined && (typeof ip !== 'string' || !isIP(ip)))
    return `.ip: ${quote(ip)} is not an IP address`;
  if (hostname !== undefined) {
    if (typeof hostname !== 'string' || hostname.length > 253 || !DNS_SUBDOMAIN.test(hostname)) {
      return `.hostname: ${quote(hostname)} is not a DNS name`;
    }
    if (isIP(hostname)) return `.hostname: ${quote(hostname)} is an IP address (put it in ip)`;
  }
  if (ipMode !== undefined) {
    if (ip === undefined) return '.ipMode: set without an ip';
    if (ipMode !== 'VIP' && ipMode !== 'Proxy')
      return `.ipMode: ${quote(ipMode)} is not VIP or Proxy`;
  }
  if (ports !== undefined) {
    if (!Array.isArray(ports)) return `.ports: ${quote(ports)} is not a list`;
    for (const [j, p] of ports.entries()) {
      if (!Number.isInteger(p?.port) || p.port < 1 || p.port > 65535)
        return `.ports[${j}].port: ${quote(p?.port)} is not a port`;
      if (!PROTOCOLS.includes(p.protocol))
        return `.ports[${j}].protocol: ${quote(p?.protocol)} is not TCP, UDP or SCTP`;
    }
  }
  return undefined;
}
