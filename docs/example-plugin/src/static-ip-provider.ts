/**
 * The adapter: turns a Service and its nodes into one address-book entry. Every call to the book
 * goes through `cloudCalls`, so kube-lbc's rate limits and metrics see it, and every write is
 * made only when the book differs from what is asked for.
 */
import { createHash } from 'node:crypto';
import type { V1Node, V1Service } from '@kubernetes/client-node';
import { CloudError } from '../../../contract/errors.js';
import type {
  CallContext,
  Capabilities,
  FieldError,
  LoadBalancerProvider,
  LoadBalancerStatus,
  OwnedLoadBalancer,
  ProviderOptions,
} from '../../../contract/provider.js';
import type { AddressBook, Assignment } from './address-book.js';

export class StaticIPProvider implements LoadBalancerProvider {
  readonly name = 'static-ip';
  readonly capabilities: Capabilities = {
    targetsNodePorts: true,
    protocols: ['TCP', 'UDP'],
    mixedProtocols: true,
    requestedIP: true,
    sourceRanges: false,
    dualStack: false,
    needsProviderID: false,
    ipMode: 'VIP',
  };
  // An in-memory book needs no limit; a real cloud declares what its API allows.
  readonly callBudgets = { default: { qps: Infinity, burst: Infinity, concurrency: Infinity } };

  readonly #book: AddressBook;
  readonly #pool: readonly string[];
  readonly #calls: ProviderOptions['cloudCalls'];

  constructor(book: AddressBook, pool: readonly string[], calls: ProviderOptions['cloudCalls']) {
    this.#book = book;
    this.#pool = pool;
    this.#calls = calls;
  }

  /** `sip-<12 hex of the cluster>-<uid>`: 49 characters, unique per cluster and Service. */
  loadBalancerName(clusterName: string, service: Readonly<V1Service>): string {
    const cluster = createHash('sha256').update(clusterName).digest('hex').slice(0, 12);
    return `sip-${cluster}-${(service.metadata?.uid ?? '').replaceAll('-', '')}`;
  }

  validateService(service: Readonly<V1Service>): readonly FieldError[] {
    const wanted = service.spec?.loadBalancerIP;
    if (wanted && !this.#pool.includes(wanted)) {
      return [{ field: 'spec.loadBalancerIP', message: `${wanted} is not in the address pool` }];
    }
    return [];
  }

  async getLoadBalancer(_ctx: CallContext, clusterName: string, service: Readonly<V1Service>) {
    const found = await this.#get(this.loadBalancerName(clusterName, service));
    return found && statusOf(found);
  }

  async ensureLoadBalancer(
    ctx: CallContext,
    clusterName: string,
    service: Readonly<V1Service>,
    nodes: readonly Readonly<V1Node>[],
  ): Promise<LoadBalancerStatus> {
    const name = this.loadBalancerName(clusterName, service);
    const listeners = listenersOf(service);
    let found = await this.#get(name);
    if (!found) {
      ctx.signal.throwIfAborted();
      const fields = {
        name,
        cluster: clusterName,
        serviceUID: service.metadata?.uid ?? '',
        namespace: service.metadata?.namespace ?? '',
        serviceName: service.metadata?.name ?? '',
        listeners,
      };
      const wanted = service.spec?.loadBalancerIP || undefined;
      found = await this.#calls.call('default', 'CreateAssignment', () =>
        this.#book.create(fields, this.#pool, wanted).catch(classify('CreateAssignment')),
      );
    } else if (!same(found.listeners, listeners)) {
      ctx.signal.throwIfAborted();
      await this.#calls.call('default', 'SetListeners', () =>
        this.#book.setListeners(name, listeners).catch(classify('SetListeners')),
      );
    }
    await this.#setTargets(ctx, found, nodes);
    return statusOf(found);
  }

  async updateLoadBalancerHosts(
    ctx: CallContext,
    clusterName: string,
    service: Readonly<V1Service>,
    nodes: readonly Readonly<V1Node>[],
  ): Promise<void> {
    const found = await this.#get(this.loadBalancerName(clusterName, service));
    if (found) await this.#setTargets(ctx, found, nodes);
  }

  async ensureLoadBalancerDeleted(
    ctx: CallContext,
    clusterName: string,
    service: Readonly<V1Service>,
  ): Promise<void> {
    const name = this.loadBalancerName(clusterName, service);
    if (!(await this.#get(name))) return;
    ctx.signal.throwIfAborted();
    await this.#calls
      .call('default', 'DeleteAssignment', () =>
        this.#book.delete(name).catch(classify('DeleteAssignment')),
      )
      .catch((err: unknown) => {
        if (!(err instanceof CloudError && err.notFound)) throw err;
      });
  }

  async listLoadBalancers(_ctx: CallContext, clusterName: string): Promise<OwnedLoadBalancer[]> {
    const all = await this.#calls.call('default', 'ListAssignments', () => this.#book.list());
    return all
      .filter((a) => a.cluster === clusterName)
      .map((a) => ({ serviceUID: a.serviceUID, namespace: a.namespace, name: a.serviceName }));
  }

  #get(name: string): Promise<Assignment | undefined> {
    return this.#calls.call('default', 'GetAssignment', () => this.#book.get(name));
  }

  async #setTargets(ctx: CallContext, found: Assignment, nodes: readonly Readonly<V1Node>[]) {
    const targets = targetsOf(nodes);
    if (same(found.targets, targets)) return;
    ctx.signal.throwIfAborted();
    await this.#calls.call('default', 'SetTargets', () =>
      this.#book.setTargets(found.name, targets).catch(classify('SetTargets')),
    );
  }
}

/** Turns the book's errors into kube-lbc's, once, here in the adapter. */
function classify(operation: string) {
  return (err: unknown): never => {
    const notFound = (err as { notFound?: boolean }).notFound === true;
    throw new CloudError(String((err as Error).message), {
      operation,
      cloudCode: notFound ? 'NotFound' : 'Conflict',
      notFound,
      cause: err,
    });
  };
}

function statusOf(a: Assignment): LoadBalancerStatus {
  return { ingress: [{ ip: a.address }] };
}

function listenersOf(service: Readonly<V1Service>): string[] {
  return (service.spec?.ports ?? [])
    .map((p) => `${p.protocol ?? 'TCP'}/${p.port}->${p.nodePort}`)
    .sort();
}

function targetsOf(nodes: readonly Readonly<V1Node>[]): string[] {
  const addresses = nodes.map(
    (n) => n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '',
  );
  return [...new Set(addresses.filter(Boolean))].sort();
}

function same(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
