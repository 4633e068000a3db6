/**
 * The `local` provider's adapter: the contract on one side, the address pool and the data path
 * on the other. In `in-process` mode it also serves the listeners; in `controller` mode it only
 * allocates addresses and the proxy agents on the edge nodes serve them.
 */
import { createHash } from 'node:crypto';
import type { V1Node, V1Service } from '@kubernetes/client-node';
import { UNLIMITED_BUDGET } from '../../contract/cloud-calls.js';
import { CloudError, InvalidServiceError } from '../../contract/errors.js';
import type {
  CallContext,
  Capabilities,
  FieldError,
  LoadBalancerProvider,
  LoadBalancerStatus,
  PlannedChange,
  ProviderOptions,
} from '../../contract/provider.js';
import { allocateAddress } from './address-allocator.js';
import type { MetricFamily } from '../../contract/metrics.js';
import { AddressPool } from './address-pool.js';
import { dataPathMetrics, poolMetrics } from './metrics.js';
import { parseServiceSettings, type ServiceSettings } from './annotations.js';
import type { LocalConfig } from './config.js';
import type { DataPath } from './data-path.js';
import { virtualServiceFor } from './virtual-service.js';
import { quote } from '../../contract/quote.js';

export const localCapabilities: Capabilities = Object.freeze({
  targetsNodePorts: true,
  protocols: Object.freeze(['TCP', 'UDP'] as const),
  mixedProtocols: true,
  requestedIP: true,
  sourceRanges: true,
  dualStack: false,
  needsProviderID: false,
  ipMode: 'VIP',
});

export class LocalProvider implements LoadBalancerProvider {
  readonly name = 'local';
  readonly capabilities = localCapabilities;
  readonly callBudgets = { default: UNLIMITED_BUDGET };
  readonly #options: ProviderOptions;
  readonly #pool: AddressPool;
  readonly #dataPath: DataPath | undefined;
  readonly #ownsDataPath: boolean;
  #poolLoaded = false;

  /**
   * `dataPath` is absent in controller mode, where the agents serve. `ownsDataPath` false means
   * it outlives this provider (tests restart providers over one data path, as over one cloud).
   */
  constructor(
    options: ProviderOptions,
    config: LocalConfig,
    dataPath: DataPath | undefined,
    ownsDataPath = true,
  ) {
    this.#options = options;
    this.#pool = new AddressPool(config.addresses);
    this.#dataPath = dataPath;
    this.#ownsDataPath = ownsDataPath;
  }

  /** The data path's metrics (in-process mode; the agents report their own) and the pool's. */
  collectMetrics(): MetricFamily[] {
    return [...(this.#dataPath ? dataPathMetrics(this.#dataPath) : []), ...poolMetrics(this.#pool)];
  }

  /** For tests and the sandbox: where connections are served, if in-process. */
  get dataPath(): DataPath | undefined {
    return this.#dataPath;
  }

  /** `lbc-<cluster hash>-<uid>`: 51 characters, distinct per cluster and per Service. */
  loadBalancerName(clusterName: string, service: Readonly<V1Service>): string {
    const cluster = createHash('sha256').update(clusterName).digest('hex').slice(0, 10);
    return `lbc-${cluster}-${service.metadata?.uid ?? ''}`;
  }

  /**
   * The pool is fixed for the life of the process, so an address outside it (or a subnet's network
   * or broadcast address, never in it) is the Service's mistake, Invalid until the Service (or,
   * with a restart, the pool) changes: not a failure to retry with backoff.
   */
  validateService(service: Readonly<V1Service>): readonly FieldError[] {
    const { settings, errors } = parseServiceSettings(service);
    const ip = settings.requestedIP;
    if (errors.length === 0 && ip !== undefined && !this.#pool.contains(ip)) {
      return [
        {
          field: settings.requestedIPField,
          message: `${quote(ip)} is not in the address pool (a CIDR's network and broadcast addresses never are)`,
        },
      ];
    }
    return errors;
  }

  async getLoadBalancer(
    _ctx: CallContext,
    _clusterName: string,
    service: Readonly<V1Service>,
  ): Promise<LoadBalancerStatus | undefined> {
    const ip = this.#addressOf(service);
    return ip ? { ingress: [{ ip }] } : undefined;
  }

  async ensureLoadBalancer(
    ctx: CallContext,
    _clusterName: string,
    service: Readonly<V1Service>,
    nodes: readonly Readonly<V1Node>[],
  ): Promise<LoadBalancerStatus> {
    const { settings } = parseServiceSettings(service);
    const errors = this.validateService(service);
    if (errors.length > 0) throw new InvalidServiceError(errors);
    ctx.signal.throwIfAborted();
    this.#loadPool();
    const uid = service.metadata!.uid!;
    const held = this.#pool.addressOf(uid);
    // Only a change of address goes through the gate: a no-op ensure makes no "cloud" write.
    const ip =
      held !== undefined && (settings.requestedIP ?? held) === held
        ? held
        : await this.#call('AllocateAddress', async () =>
            allocateAddress(this.#pool, ctx, service, settings.requestedIP),
          );
    await this.#serve(ctx, service, ip, settings, nodes);
    return { ingress: [{ ip }] };
  }

  /** What `ensureLoadBalancer` would do: an address to allocate, listeners to apply. No calls. */
  async planLoadBalancer(
    _ctx: CallContext,
    _clusterName: string,
    service: Readonly<V1Service>,
    nodes: readonly Readonly<V1Node>[],
  ): Promise<readonly PlannedChange[]> {
    const { settings, errors } = parseServiceSettings(service);
    if (errors.length > 0) throw new InvalidServiceError(errors);
    this.#loadPool();
    const held = this.#pool.addressOf(service.metadata!.uid!);
    const keep = held !== undefined && (settings.requestedIP ?? held) === held;
    const changes: PlannedChange[] = [];
    if (!keep) {
      changes.push({
        operation: 'AllocateAddress',
        description: `allocate ${settings.requestedIP ?? 'an address'} from the pool`,
      });
    }
    const dataPath = this.#dataPath;
    if (
      dataPath &&
      (!keep || dataPath.wouldChange(virtualServiceFor(service, held, settings, nodes)))
    ) {
      changes.push({
        operation: 'ApplyListeners',
        description: `serve ${keep ? held : 'it'} on ${(service.spec?.ports ?? []).length} ports`,
      });
    }
    return changes;
  }

  async updateLoadBalancerHosts(
    ctx: CallContext,
    _clusterName: string,
    service: Readonly<V1Service>,
    nodes: readonly Readonly<V1Node>[],
  ): Promise<void> {
    const ip = this.#addressOf(service);
    if (ip) await this.#serve(ctx, service, ip, parseServiceSettings(service).settings, nodes);
  }

  async ensureLoadBalancerDeleted(
    ctx: CallContext,
    _clusterName: string,
    service: Readonly<V1Service>,
  ): Promise<void> {
    const uid = service.metadata?.uid ?? '';
    if (this.#dataPath?.serviceKeys.includes(uid)) {
      ctx.signal.throwIfAborted();
      await this.#call('DeleteListeners', () => this.#dataPath!.remove(uid));
    }
    this.#loadPool();
    if (this.#pool.addressOf(uid)) {
      ctx.signal.throwIfAborted();
      await this.#call('ReleaseAddress', async () => void this.#pool.release(uid));
    }
  }

  /**
   * Nothing to unmark: the local balancer keeps no ownership record outside this process (it has
   * no `listLoadBalancers`, so no garbage collector deletes its listeners). The listeners keep
   * serving and the address stays claimed, so no other Service is given it while it answers;
   * both end when the process stops, or when the Service is managed again and deleted.
   */
  async releaseLoadBalancer(
    ctx: CallContext,
    _clusterName: string,
    service: Readonly<V1Service>,
  ): Promise<void> {
    ctx.logger.info(
      { address: this.#addressOf(service) },
      'released load balancer; its listeners keep serving',
    );
  }

  async close(): Promise<void> {
    if (this.#ownsDataPath) await this.#dataPath?.close();
  }

  #addressOf(service: Readonly<V1Service>): string | undefined {
    this.#loadPool();
    return this.#pool.addressOf(service.metadata?.uid ?? '');
  }

  /** Brings the listeners in line (in-process mode); writes only when something differs. */
  async #serve(
    ctx: CallContext,
    service: Readonly<V1Service>,
    ip: string,
    settings: ServiceSettings,
    nodes: readonly Readonly<V1Node>[],
  ): Promise<void> {
    const dataPath = this.#dataPath;
    if (!dataPath) return;
    const spec = virtualServiceFor(service, ip, settings, nodes);
    if (!dataPath.wouldChange(spec)) return;
    ctx.signal.throwIfAborted();
    await this.#call('ApplyListeners', async () => {
      try {
        await dataPath.apply(spec);
      } catch (cause) {
        throw new CloudError(`cannot serve ${ip}: ${(cause as Error).message}`, {
          operation: 'ApplyListeners',
          cloudCode: (cause as NodeJS.ErrnoException).code ?? 'ListenerFailed',
          cause,
        });
      }
    });
  }

  /** The pool is a cache of Service statuses, loaded on first use (the view is complete then). */
  #loadPool(): void {
    if (this.#poolLoaded) return;
    this.#pool.rebuild(this.#options.cluster.services());
    this.#poolLoaded = true;
  }

  #call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return this.#options.cloudCalls.call('default', operation, fn);
  }
}
