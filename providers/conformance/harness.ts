/**
 * What each conformance test works with: providers started (and restarted) over the author's
 * cloud, a log of their cloud calls, frozen Services and Nodes, and cleanup after the test.
 */
import type { V1LoadBalancerIngress, V1Node, V1Service } from '@kubernetes/client-node';
import { noopLogger } from '../../contract/logger.js';
import { RetryAfterError } from '../../contract/errors.js';
import type {
  CallContext,
  LoadBalancerProvider,
  LoadBalancerStatus,
} from '../../contract/provider.js';
import { deepFreeze, plainNode, plainService, thaw } from './objects.js';
import { isWriteOperation, type ConformanceOptions } from './options.js';
import { CallLog, RecordingCloudCalls } from './recording-calls.js';

export interface Started {
  readonly provider: LoadBalancerProvider;
  readonly gate: RecordingCloudCalls;
}

export class Harness {
  readonly log: CallLog;
  readonly clusterName: string;
  readonly events: { type: string; reason: string; message: string }[] = [];
  readonly #options: ConformanceOptions;
  readonly #started: LoadBalancerProvider[] = [];
  /** Services the test handed to a provider, by UID, with the status last published. */
  readonly #services = new Map<string, Readonly<V1Service>>();
  readonly #allNodes: Readonly<V1Node>[] = [];
  /** The nodes last handed to the provider, for the cluster view. */
  #nodes: readonly Readonly<V1Node>[] = [];
  #serial = 0;

  constructor(options: ConformanceOptions) {
    this.#options = options;
    this.log = new CallLog(options.isWrite ?? isWriteOperation);
    this.clusterName = options.clusterName ?? 'conformance';
  }

  /** A new provider over the same cloud, with a fresh gate: a controller restart. */
  async start(clusterName = this.clusterName): Promise<Started> {
    const gate = new RecordingCloudCalls(this.log);
    const provider = await this.#options.createProvider({
      config: this.#options.config ?? {},
      clusterName,
      logger: noopLogger,
      cloudCalls: gate,
      cluster: { services: () => [...this.#services.values()], nodes: () => this.#nodes },
    });
    gate.configure(provider.callBudgets);
    this.#started.push(provider);
    return { provider, gate };
  }

  ctx(signal: AbortSignal = new AbortController().signal): CallContext {
    return {
      signal,
      logger: noopLogger,
      recordEvent: (type, reason, message) => this.events.push({ type, reason, message }),
    };
  }

  /** A frozen Service with a fresh UID, the author's tweak applied. */
  service(change?: (s: V1Service) => void, name = `svc-${++this.#serial}`): Readonly<V1Service> {
    const svc = plainService(name);
    this.#options.tweakService?.(svc);
    change?.(svc);
    return this.#remember(svc);
  }

  /** A frozen copy of the current `service` with `change` applied: the same Service, edited. */
  edit(service: Readonly<V1Service>, change: (s: V1Service) => void): Readonly<V1Service> {
    const copy = thaw(this.current(service));
    change(copy);
    return this.#remember(copy);
  }

  /** The first `count` nodes (stable names across calls), frozen. */
  nodes(count: number): readonly Readonly<V1Node>[] {
    const max = this.#options.nodeCount ?? 3;
    if (count > max) throw new Error(`the test needs ${count} nodes; nodeCount is ${max}`);
    // The same objects every time: a node keeps its UID, as in a real cluster.
    while (this.#allNodes.length < count) {
      const node = plainNode(this.#allNodes.length);
      this.#options.tweakNode?.(node, this.#allNodes.length);
      this.#allNodes.push(deepFreeze(node));
    }
    this.#nodes = this.#allNodes.slice(0, count);
    return this.#nodes;
  }

  /**
   * The latest version of `service` (same UID): with the status the kit last published, as the
   * controller's cache would hold it.
   */
  current(service: Readonly<V1Service>): Readonly<V1Service> {
    return this.#services.get(service.metadata!.uid!) ?? service;
  }

  /**
   * `ensureLoadBalancer` on the current version of `service`, waiting out `RetryAfterError` while the cloud provisions (a bounded wait
   * on the cloud, the only place the kit sleeps), and publishing the status to the cluster view.
   */
  async ensure(
    provider: LoadBalancerProvider,
    service: Readonly<V1Service>,
    nodes: readonly Readonly<V1Node>[],
  ): Promise<LoadBalancerStatus> {
    const maxDelay = this.#options.maxRetryDelayMs ?? 10_000;
    for (;;) {
      try {
        const status = await provider.ensureLoadBalancer(
          this.ctx(),
          this.clusterName,
          this.current(service),
          nodes,
        );
        this.#publish(service, status.ingress);
        return status;
      } catch (err) {
        if (!(err instanceof RetryAfterError) || err.delayMs > maxDelay) throw err;
        await new Promise((resolve) => setTimeout(resolve, err.delayMs));
      }
    }
  }

  /** Deletes every Service the test used, with a fresh provider, and closes every provider. */
  async cleanUp(): Promise<void> {
    const services = [...this.#services.values()];
    this.#services.clear();
    if (services.length > 0) {
      const { provider } = await this.start();
      for (const svc of services) {
        await provider.ensureLoadBalancerDeleted(this.ctx(), this.clusterName, svc).catch(() => {});
      }
    }
    await Promise.all(this.#started.splice(0).map((p) => p.close?.().catch(() => {})));
  }

  async inventory(): Promise<string[]> {
    return canonical(await this.#options.inventory());
  }

  get maxNameLength(): number {
    return this.#options.maxNameLength ?? 63;
  }

  #remember(svc: V1Service): Readonly<V1Service> {
    const frozen = deepFreeze(svc);
    this.#services.set(svc.metadata!.uid!, frozen);
    return frozen;
  }

  #publish(service: Readonly<V1Service>, ingress: readonly V1LoadBalancerIngress[]): void {
    const copy = thaw(this.current(service));
    copy.status = { loadBalancer: { ingress: thaw([...ingress]) } };
    this.#services.set(service.metadata!.uid!, deepFreeze(copy));
  }
}

/** An inventory as sorted, key-ordered JSON lines: order-free and readable in a failed diff. */
export function canonical(items: readonly unknown[]): string[] {
  return items.map((item) => JSON.stringify(sortKeys(item))).sort();
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
  );
}
