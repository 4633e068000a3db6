/**
 * The fake provider: the `LoadBalancerProvider` adapter over a `FakeCloud`. It behaves as a careful
 * real provider should (finds by name, writes only what differs, tolerates half-done state), so
 * the core's tests exercise the same paths they would against a cloud.
 */
import { createHash } from 'node:crypto';
import type { V1Node, V1Service } from '@kubernetes/client-node';
import { UNLIMITED_BUDGET, type CloudCalls } from '../../contract/cloud-calls.js';
import {
  CloudError,
  findCause,
  InvalidServiceError,
  RetryAfterError,
} from '../../contract/errors.js';
import type {
  CallBudget,
  CallContext,
  Capabilities,
  FieldError,
  LoadBalancerProvider,
  LoadBalancerStatus,
  OwnedLoadBalancer,
  PlannedChange,
} from '../../contract/provider.js';
import {
  duplicateName,
  type FakeCloudApi,
  type FakeListenerSpec,
  type FakeLoadBalancer,
  type FakePort,
} from './cloud.js';
import { optionAnnotation, validateFakeService } from './validation.js';
import { sourceRangesOf } from '../../contract/service-spec.js';

/** Permissive, so most tests pass through; SCTP is off so the core's refusal path is reachable. */
export const defaultFakeCapabilities: Capabilities = Object.freeze({
  targetsNodePorts: true,
  protocols: Object.freeze(['TCP', 'UDP'] as const),
  mixedProtocols: true,
  requestedIP: true,
  sourceRanges: true,
  dualStack: false,
  needsProviderID: false,
  ipMode: 'VIP',
});

export interface FakeProviderSettings {
  readonly cloud: FakeCloudApi;
  readonly cloudCalls: CloudCalls;
  readonly capabilities: Capabilities;
  readonly callBudgets?: Readonly<Record<string, CallBudget>> & { readonly default: CallBudget };
}

export class FakeProvider implements LoadBalancerProvider {
  readonly name = 'fake';
  readonly capabilities: Capabilities;
  readonly callBudgets: Readonly<Record<string, CallBudget>> & { readonly default: CallBudget };
  readonly #cloud: FakeCloudApi;
  readonly #calls: CloudCalls;

  constructor(settings: FakeProviderSettings) {
    this.#cloud = settings.cloud;
    this.#calls = settings.cloudCalls;
    this.capabilities = settings.capabilities;
    this.callBudgets = settings.callBudgets ?? { default: UNLIMITED_BUDGET };
  }

  /** `fake-<cluster hash>-<uid>`: 46 characters, so it fits a 63-character DNS label. */
  loadBalancerName(clusterName: string, service: Readonly<V1Service>): string {
    const uid = service.metadata?.uid ?? digest(`${namespacedName(service)}`, 32);
    return `fake-${digest(clusterName, 8)}-${uid.replaceAll('-', '').toLowerCase().slice(0, 32)}`;
  }

  validateService(service: Readonly<V1Service>): readonly FieldError[] {
    return validateFakeService(service);
  }

  async getLoadBalancer(
    _ctx: CallContext,
    clusterName: string,
    service: Readonly<V1Service>,
  ): Promise<LoadBalancerStatus | undefined> {
    const lb = await this.#describe(clusterName, service);
    return lb && { ingress: lb.ingress };
  }

  async ensureLoadBalancer(
    ctx: CallContext,
    clusterName: string,
    service: Readonly<V1Service>,
    nodes: readonly Readonly<V1Node>[],
  ): Promise<LoadBalancerStatus> {
    const fieldErrors = validateFakeService(service);
    if (fieldErrors.length > 0) throw new InvalidServiceError(fieldErrors);
    const name = this.loadBalancerName(clusterName, service);
    const key = namespacedName(service);
    const wanted = this.#listenerSpec(service);
    const wantedNodes = nodeNames(nodes);
    // A Service without published ingress was most likely never made: create first, saving a
    // read on every new Service. A duplicate means a run died before publishing; reconcile it.
    const published = (service.status?.loadBalancer?.ingress?.length ?? 0) > 0;
    let lb = published ? await this.#describe(clusterName, service) : undefined;
    if (!lb) {
      ctx.signal.throwIfAborted();
      ctx.logger.debug({ loadBalancer: name }, 'creating load balancer');
      const requestedIP = this.capabilities.requestedIP ? service.spec?.loadBalancerIP : undefined;
      const spec = {
        name,
        tags: ownerTags(clusterName, service),
        ...wanted,
        nodes: wantedNodes,
        requestedIP: requestedIP || undefined,
      };
      // Its answer lost, a create is looked for before it is sent again.
      const created = await this.#calls
        .call('default', 'CreateLoadBalancer', () => this.#cloud.createLoadBalancer(spec, key), {
          verify: () => this.#describe(clusterName, service),
        })
        .catch((err: unknown) => {
          if (findCause(err, CloudError)?.cloudCode === duplicateName) return undefined;
          throw err;
        });
      if (created) return this.#statusOrProvisioning(created);
      lb = await this.#describe(clusterName, service);
      if (!lb)
        throw new CloudError(`load balancer ${name} exists but cannot be read`, {
          operation: 'GetLoadBalancer',
          cloudCode: 'Inconsistent',
        });
    }
    if (!sameListeners(lb, wanted)) {
      ctx.signal.throwIfAborted();
      ctx.logger.debug({ loadBalancer: name }, 'updating load balancer listeners');
      await this.#calls.call(
        'default',
        'UpdateLoadBalancer',
        () => this.#cloud.updateLoadBalancer(name, wanted, key),
        setToValue,
      );
    }
    // Released earlier (its tags emptied) and now managed again: take it back in place.
    const tags = ownerTags(clusterName, service);
    if (JSON.stringify(lb.tags) !== JSON.stringify(tags)) {
      ctx.signal.throwIfAborted();
      await this.#calls.call(
        'default',
        'SetTags',
        () => this.#cloud.setTags(name, tags, key),
        setToValue,
      );
    }
    await this.#updateHosts(ctx, name, lb, wantedNodes, key);
    return this.#statusOrProvisioning(lb);
  }

  /** What `ensureLoadBalancer` would write: one read, then the same comparisons. */
  async planLoadBalancer(
    _ctx: CallContext,
    clusterName: string,
    service: Readonly<V1Service>,
    nodes: readonly Readonly<V1Node>[],
  ): Promise<readonly PlannedChange[]> {
    const fieldErrors = validateFakeService(service);
    if (fieldErrors.length > 0) throw new InvalidServiceError(fieldErrors);
    const name = this.loadBalancerName(clusterName, service);
    const wanted = this.#listenerSpec(service);
    const wantedNodes = nodeNames(nodes);
    const lb = await this.#describe(clusterName, service);
    if (!lb)
      return [{ operation: 'CreateLoadBalancer', description: `create load balancer ${name}` }];
    const changes: PlannedChange[] = [];
    if (!sameListeners(lb, wanted)) {
      changes.push({
        operation: 'UpdateLoadBalancer',
        description: `update the listeners of ${name}`,
      });
    }
    if (JSON.stringify(lb.tags) !== JSON.stringify(ownerTags(clusterName, service)))
      changes.push({ operation: 'SetTags', description: `take ${name} back (tag it as ours)` });
    if (!sameList(lb.nodes, wantedNodes)) {
      changes.push({
        operation: 'UpdateHosts',
        description: `point ${name} at ${wantedNodes.length} nodes`,
      });
    }
    return changes;
  }

  async updateLoadBalancerHosts(
    ctx: CallContext,
    clusterName: string,
    service: Readonly<V1Service>,
    nodes: readonly Readonly<V1Node>[],
  ): Promise<void> {
    const lb = await this.#describe(clusterName, service);
    if (!lb) return; // the next ensure creates it, with these nodes
    const name = this.loadBalancerName(clusterName, service);
    await this.#updateHosts(ctx, name, lb, nodeNames(nodes), namespacedName(service));
  }

  async ensureLoadBalancerDeleted(
    ctx: CallContext,
    clusterName: string,
    service: Readonly<V1Service>,
  ): Promise<void> {
    // Delete by name in one call, as a cloud that addresses resources by name allows.
    const name = this.loadBalancerName(clusterName, service);
    ctx.signal.throwIfAborted();
    try {
      // Repeated after a lost answer, a delete finds nothing: that is success below.
      await this.#calls.call(
        'default',
        'DeleteLoadBalancer',
        () => this.#cloud.deleteLoadBalancer(name, namespacedName(service)),
        setToValue,
      );
      ctx.logger.debug({ loadBalancer: name }, 'deleted load balancer');
    } catch (err) {
      // Never made, or deleted first by another replica or a retry whose answer was lost.
      if (!findCause(err, CloudError)?.notFound) throw err;
    }
  }

  /** Empties the ownership tags: the load balancer stays and serves, but is no longer listed. */
  async releaseLoadBalancer(
    ctx: CallContext,
    clusterName: string,
    service: Readonly<V1Service>,
  ): Promise<void> {
    const lb = await this.#describe(clusterName, service);
    if (!lb || lb.tags.cluster === '') return;
    const name = this.loadBalancerName(clusterName, service);
    ctx.signal.throwIfAborted();
    await this.#calls.call(
      'default',
      'SetTags',
      () => this.#cloud.setTags(name, released, namespacedName(service)),
      setToValue,
    );
    ctx.logger.info({ loadBalancer: name }, 'released load balancer');
  }

  async listLoadBalancers(
    _ctx: CallContext,
    clusterName: string,
  ): Promise<readonly OwnedLoadBalancer[]> {
    const all = await this.#calls.call(
      'default',
      'ListLoadBalancers',
      () => this.#cloud.listLoadBalancers(),
      { ...setToValue, readOnly: true },
    );
    return all
      .filter((lb) => lb.tags.cluster === clusterName)
      .map((lb) => ({
        serviceUID: lb.tags.serviceUID,
        namespace: lb.tags.namespace,
        name: lb.tags.serviceName,
      }));
  }

  #describe(
    clusterName: string,
    service: Readonly<V1Service>,
  ): Promise<FakeLoadBalancer | undefined> {
    const name = this.loadBalancerName(clusterName, service);
    return this.#calls.call(
      'default',
      'GetLoadBalancer',
      () => this.#cloud.getLoadBalancer(name, namespacedName(service)),
      { ...setToValue, readOnly: true },
    );
  }

  async #updateHosts(
    ctx: CallContext,
    name: string,
    lb: FakeLoadBalancer,
    nodes: readonly string[],
    key: string,
  ): Promise<void> {
    if (sameList(lb.nodes, nodes)) return;
    ctx.signal.throwIfAborted();
    ctx.logger.debug({ loadBalancer: name, nodes: nodes.length }, 'updating load balancer hosts');
    await this.#calls.call(
      'default',
      'UpdateHosts',
      () => this.#cloud.updateHosts(name, nodes, key),
      setToValue,
    );
  }

  #listenerSpec(service: Readonly<V1Service>): FakeListenerSpec {
    const ports: FakePort[] = (service.spec?.ports ?? []).map((p, i) => {
      if (this.capabilities.targetsNodePorts && !p.nodePort) {
        // A real cloud rejects a target without a port; the core should have allocated one.
        throw new CloudError(`spec.ports[${i}] has no nodePort`, {
          operation: 'CreateLoadBalancer',
          cloudCode: 'InvalidParameter',
          retryable: false,
        });
      }
      return {
        ...(p.name ? { name: p.name } : {}),
        protocol: p.protocol ?? 'TCP',
        port: p.port,
        ...(this.capabilities.targetsNodePorts ? { nodePort: p.nodePort } : {}),
      };
    });
    ports.sort((a, b) => a.protocol.localeCompare(b.protocol) || a.port - b.port);
    const sourceRanges = this.capabilities.sourceRanges
      ? [...sourceRangesOf(service).ranges].sort()
      : [];
    const option = service.metadata?.annotations?.[optionAnnotation];
    return { ports, sourceRanges, ...(option !== undefined ? { option } : {}) };
  }

  #statusOrProvisioning(lb: FakeLoadBalancer): LoadBalancerStatus {
    const status = { ingress: lb.ingress };
    const remaining = lb.createdAt + this.#cloud.provisioningDelayMs - this.#cloud.now();
    if (remaining > 0) {
      throw new RetryAfterError(`load balancer ${lb.name} is provisioning`, remaining, status);
    }
    return status;
  }
}

/** Reads, and writes that set a value (so sending one twice is sending it once). */
const setToValue = { idempotent: true } as const;

const released: FakeLoadBalancer['tags'] = Object.freeze({
  cluster: '',
  serviceUID: '',
  namespace: '',
  serviceName: '',
});

function ownerTags(clusterName: string, service: Readonly<V1Service>): FakeLoadBalancer['tags'] {
  return {
    cluster: clusterName,
    serviceUID: service.metadata?.uid ?? '',
    namespace: service.metadata?.namespace ?? '',
    serviceName: service.metadata?.name ?? '',
  };
}

function sameListeners(lb: FakeListenerSpec, wanted: FakeListenerSpec): boolean {
  return (
    JSON.stringify(lb.ports) === JSON.stringify(wanted.ports) &&
    sameList(lb.sourceRanges, wanted.sourceRanges) &&
    lb.option === wanted.option
  );
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

// Every sync of one node change passes the same array (the controller computes the eligible set
// once per change), so its names are computed once and shared: at 10,000 load balancers over
// 1,000 nodes, a list per load balancer was 80 MB in the cloud's records alone.
const namesOf = new WeakMap<readonly Readonly<V1Node>[], readonly string[]>();

function nodeNames(nodes: readonly Readonly<V1Node>[]): readonly string[] {
  let names = namesOf.get(nodes);
  if (!names) {
    names = Object.freeze(
      [...new Set(nodes.map((n) => n.metadata?.name ?? ''))].filter(Boolean).sort(),
    );
    namesOf.set(nodes, names);
  }
  return names;
}

function namespacedName(service: Readonly<V1Service>): string {
  return `${service.metadata?.namespace ?? ''}/${service.metadata?.name ?? ''}`;
}

function digest(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}
