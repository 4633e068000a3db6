/**
 * The GCP provider: Services of type LoadBalancer as Compute Engine passthrough network load
 * balancers built on a regional backend service, as GKE builds them. A thin adapter over the
 * modules that do the work (reconcile.ts, teardown.ts, release.ts).
 */
import type { V1Node, V1Service } from '@kubernetes/client-node';
import { InvalidServiceError } from '../../contract/errors.js';
import type {
  CallContext,
  Capabilities,
  FieldError,
  LoadBalancerProvider,
  LoadBalancerStatus,
  OwnedLoadBalancer,
  PlannedChange,
} from '../../contract/provider.js';
import { gcpCallBudgets, whilePlanning, whileSignal } from './clients.js';
import { validate } from './desired.js';
import type { GcpEnv } from './env.js';
import { baseName } from './names.js';
import { ensureLoadBalancer, loadBalancerStatus, updateHosts } from './reconcile.js';
import { releaseLoadBalancer } from './release.js';
import { deleteLoadBalancer, listOwned } from './teardown.js';

export class GcpProvider implements LoadBalancerProvider {
  readonly name = 'gcp';
  readonly capabilities: Capabilities = Object.freeze({
    // Passthrough: packets reach the nodes on the Service port at the load balancer's IP, where
    // kube-proxy takes them; no NodePort is needed.
    targetsNodePorts: false,
    protocols: ['TCP', 'UDP'] as const,
    mixedProtocols: true,
    requestedIP: true,
    sourceRanges: true,
    dualStack: false,
    needsProviderID: true,
    ipMode: 'VIP',
  });
  readonly callBudgets = gcpCallBudgets;

  constructor(readonly env: GcpEnv) {}

  loadBalancerName(clusterName: string, service: Readonly<V1Service>): string {
    return baseName(clusterName, service);
  }

  validateService(service: Readonly<V1Service>): readonly FieldError[] {
    return validate(service);
  }

  async getLoadBalancer(
    _ctx: CallContext,
    clusterName: string,
    service: Readonly<V1Service>,
  ): Promise<LoadBalancerStatus | undefined> {
    return loadBalancerStatus(this.#env(clusterName), service);
  }

  async ensureLoadBalancer(
    ctx: CallContext,
    clusterName: string,
    service: Readonly<V1Service>,
    nodes: readonly Readonly<V1Node>[],
  ): Promise<LoadBalancerStatus> {
    this.#validOrThrow(service);
    return whileSignal(ctx.signal, () =>
      ensureLoadBalancer(this.#env(clusterName), ctx, service, nodes),
    );
  }

  async updateLoadBalancerHosts(
    ctx: CallContext,
    clusterName: string,
    service: Readonly<V1Service>,
    nodes: readonly Readonly<V1Node>[],
  ): Promise<void> {
    this.#validOrThrow(service);
    await whileSignal(ctx.signal, () => updateHosts(this.#env(clusterName), ctx, service, nodes));
  }

  async ensureLoadBalancerDeleted(
    ctx: CallContext,
    clusterName: string,
    service: Readonly<V1Service>,
  ): Promise<void> {
    await whileSignal(ctx.signal, () => deleteLoadBalancer(this.#env(clusterName), ctx, service));
  }

  /** Every resource stays; kube-lbc's claim on each goes (release.ts). */
  async releaseLoadBalancer(
    ctx: CallContext,
    clusterName: string,
    service: Readonly<V1Service>,
  ): Promise<void> {
    await whileSignal(ctx.signal, () => releaseLoadBalancer(this.#env(clusterName), ctx, service));
  }

  /** The real ensure with every write kept instead of sent (clients.ts `whilePlanning`). */
  async planLoadBalancer(
    ctx: CallContext,
    clusterName: string,
    service: Readonly<V1Service>,
    nodes: readonly Readonly<V1Node>[],
  ): Promise<readonly PlannedChange[]> {
    this.#validOrThrow(service);
    return whilePlanning(() => ensureLoadBalancer(this.#env(clusterName), ctx, service, nodes));
  }

  async listLoadBalancers(
    _ctx: CallContext,
    clusterName: string,
  ): Promise<readonly OwnedLoadBalancer[]> {
    return listOwned(this.#env(clusterName));
  }

  async close(): Promise<void> {
    await this.env.calls.close();
  }

  /** The core validates first; this guards direct callers so a bad Service never writes. */
  #validOrThrow(service: Readonly<V1Service>): void {
    const errors = this.validateService(service);
    if (errors.length > 0) throw new InvalidServiceError(errors);
  }

  #env(clusterName: string): GcpEnv {
    return clusterName === this.env.clusterName ? this.env : { ...this.env, clusterName };
  }
}
