/**
 * The AWS provider: Services of type LoadBalancer as Network Load Balancers through ELBv2.
 * A thin adapter over the modules that do the work (see reconcile.ts and teardown.ts).
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
import { validateAdoptFrom } from './adoption.js';
import { BackendGroups } from './backend-group.js';
import { awsCallBudgets, whileSignal } from './clients.js';
import { targetNodes, validate } from './desired.js';
import { loadBalancerName } from './names.js';
import { planNlb } from './plan.js';
import { ensureNlb, nlbStatus, updateNlbTargets, type AwsEnv } from './reconcile.js';
import { releaseNlb } from './release.js';
import { deleteNlb, listOwned } from './teardown.js';
import { UnsupportedAnnotationWarnings } from './unsupported.js';

export class AwsProvider implements LoadBalancerProvider {
  readonly name = 'aws';
  readonly capabilities: Capabilities = Object.freeze({
    targetsNodePorts: true,
    protocols: ['TCP', 'UDP'] as const,
    mixedProtocols: true,
    requestedIP: false,
    sourceRanges: true,
    dualStack: true,
    needsProviderID: true,
    // NLB ingress is a hostname, and ipMode only applies to IP ingress; VIP is the inert choice.
    ipMode: 'VIP',
  });
  readonly callBudgets = awsCallBudgets;
  readonly #unsupported = new UnsupportedAnnotationWarnings();

  readonly env: AwsEnv;

  /** `backend` is made here unless given: one per provider, shared by all its calls. */
  constructor(env: Omit<AwsEnv, 'backend'> & { readonly backend?: BackendGroups }) {
    this.env = { ...env, backend: env.backend ?? new BackendGroups() };
  }

  loadBalancerName(clusterName: string, service: Readonly<V1Service>): string {
    return loadBalancerName(clusterName, service);
  }

  validateService(service: Readonly<V1Service>): readonly FieldError[] {
    return [...validate(service, this.env.clusterName), ...validateAdoptFrom(service)];
  }

  async getLoadBalancer(
    _ctx: CallContext,
    clusterName: string,
    service: Readonly<V1Service>,
  ): Promise<LoadBalancerStatus | undefined> {
    return nlbStatus(this.#env(clusterName), service);
  }

  async ensureLoadBalancer(
    ctx: CallContext,
    clusterName: string,
    service: Readonly<V1Service>,
    nodes: readonly Readonly<V1Node>[],
  ): Promise<LoadBalancerStatus> {
    this.#validOrThrow(service);
    this.#unsupported.report(ctx, service);
    const targets = targetNodes(service, nodes);
    return whileSignal(ctx.signal, () => ensureNlb(this.#env(clusterName), ctx, service, targets));
  }

  /** ensure's own code, its writes answered by the planner instead of sent (plan.ts). */
  async planLoadBalancer(
    ctx: CallContext,
    clusterName: string,
    service: Readonly<V1Service>,
    nodes: readonly Readonly<V1Node>[],
  ): Promise<readonly PlannedChange[]> {
    this.#validOrThrow(service);
    return planNlb(this.#env(clusterName), ctx, service, nodes);
  }

  async updateLoadBalancerHosts(
    ctx: CallContext,
    clusterName: string,
    service: Readonly<V1Service>,
    nodes: readonly Readonly<V1Node>[],
  ): Promise<void> {
    this.#validOrThrow(service);
    const targets = targetNodes(service, nodes);
    await whileSignal(ctx.signal, () =>
      updateNlbTargets(this.#env(clusterName), ctx, service, targets),
    );
  }

  async ensureLoadBalancerDeleted(
    ctx: CallContext,
    clusterName: string,
    service: Readonly<V1Service>,
  ): Promise<void> {
    await whileSignal(ctx.signal, () => deleteNlb(this.#env(clusterName), ctx, service));
    this.#unsupported.forget(service.metadata?.uid);
  }

  /** Leaves every resource; removes kube-lbc's tags, restoring an adopted NLB's previous owner's. */
  async releaseLoadBalancer(
    ctx: CallContext,
    clusterName: string,
    service: Readonly<V1Service>,
  ): Promise<void> {
    await whileSignal(ctx.signal, () => releaseNlb(this.#env(clusterName), ctx, service));
    this.#unsupported.forget(service.metadata?.uid);
  }

  async listLoadBalancers(
    ctx: CallContext,
    clusterName: string,
  ): Promise<readonly OwnedLoadBalancer[]> {
    return listOwned(this.#env(clusterName), ctx);
  }

  async close(): Promise<void> {
    this.env.clients.destroy();
  }

  /** The core validates first; this guards direct callers so a bad Service never writes. */
  #validOrThrow(service: Readonly<V1Service>): void {
    const errors = this.validateService(service);
    if (errors.length > 0) throw new InvalidServiceError(errors);
  }

  #env(clusterName: string): AwsEnv {
    return clusterName === this.env.clusterName ? this.env : { ...this.env, clusterName };
  }
}
