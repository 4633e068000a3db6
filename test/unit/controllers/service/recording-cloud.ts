/**
 * A recording fake cloud at the provider contract, as k8s.io/cloud-provider/fake is: every call
 * is recorded by name, `exists` says whether it holds a load balancer for the Service, and `err`
 * makes every call fail. Only success changes what it holds.
 */
import type { V1Service } from '@kubernetes/client-node';
import { defaultFakeCapabilities } from '../../../../providers/fake/index.js';
import type {
  FieldError,
  LoadBalancerProvider,
  LoadBalancerStatus,
} from '../../../../contract/provider.js';

export const INGRESS_IP = '192.0.2.10';

export type CloudCall = 'ensure' | 'update hosts' | 'delete' | 'release';

export class RecordingCloud implements LoadBalancerProvider {
  readonly name = 'recording';
  readonly capabilities = defaultFakeCapabilities;
  readonly callBudgets = { default: { qps: Infinity, burst: Infinity, concurrency: Infinity } };
  readonly calls: CloudCall[] = [];
  exists = false;
  err: Error | undefined;

  loadBalancerName(_clusterName: string, service: Readonly<V1Service>): string {
    return `lb-${service.metadata?.uid}`;
  }

  validateService(): readonly FieldError[] {
    return [];
  }

  async getLoadBalancer(): Promise<LoadBalancerStatus | undefined> {
    return this.exists ? { ingress: [{ ip: INGRESS_IP }] } : undefined;
  }

  async ensureLoadBalancer(): Promise<LoadBalancerStatus> {
    this.#enter('ensure');
    this.exists = true;
    return { ingress: [{ ip: INGRESS_IP }] };
  }

  async updateLoadBalancerHosts(): Promise<void> {
    this.#enter('update hosts');
  }

  async ensureLoadBalancerDeleted(): Promise<void> {
    this.#enter('delete');
    this.exists = false;
  }

  /** A field, not a method, so a test can take it away (a provider that cannot release). */
  releaseLoadBalancer?: () => Promise<void> = async () => {
    this.#enter('release');
  };

  #enter(call: CloudCall): void {
    this.calls.push(call);
    if (this.err) throw this.err;
  }
}
