/**
 * The service controller: informer handlers filter and enqueue keys, workers run `syncService`,
 * and the retry bookkeeping lives in one place (`#process`), as in upstream's
 * processNextServiceItem. Node changes and periodic resyncs only enqueue keys too, so one Service
 * is never worked on by two workers at once.
 */
import { setMaxListeners } from 'node:events';
import type { V1Node, V1Service } from '@kubernetes/client-node';
import type { CoreCalls } from '../../runtime/kube-api.js';
import type { LoadBalancerProvider } from '../../contract/provider.js';
import type { BackoffOptions } from '../../runtime/backoff.js';
import type { ClusterInformers } from '../../runtime/cluster-informers.js';
import { objectKey } from '../../runtime/informer.js';
import { noopLogger, type Logger } from '../../contract/logger.js';
import { WorkQueue, type WorkQueueMetrics } from '../../runtime/workqueue.js';
import type { EventRecorder } from './events.js';
import { collectGarbage } from './garbage-collector.js';
import { noopServiceMetrics, type ServiceMetrics } from './metrics.js';
import { NodeSync } from './node-sync.js';
import type { NodePortRange } from './nodeports.js';
import { isConflict } from '../../runtime/api-errors.js';
import { needsCleanup, needsUpdate, wantsLoadBalancer, type ClassFilter } from './predicates.js';
import { isNotFound } from '../../runtime/api-errors.js';
import { ServiceSyncer } from './sync.js';

export interface ServiceControllerConfig {
  readonly clusterName: string;
  readonly classes: ClassFilter;
  readonly concurrentServiceSyncs: number;
  readonly nodePortRange: NodePortRange;
  /** Every this often, every LoadBalancer Service is re-checked (a no-op when nothing changed). */
  readonly nodeSyncPeriodMs: number;
  /** Node events within this window are handled in one pass. */
  readonly nodeBatchWindowMs: number;
  /** How often to look for orphaned load balancers; 0 disables. */
  readonly gcPeriodMs: number;
  /** How often every load balancer is re-read from the cloud and repaired; 0 disables. */
  readonly loadBalancerResyncPeriodMs: number;
  /** How long one provider method may run before its sync abandons it. @default 5 min */
  readonly providerTimeoutMs?: number;
}

export interface ServiceControllerDeps {
  /** Service reads and writes: a `KubeApi` (or client-node's `CoreV1Api`). */
  readonly api: CoreCalls;
  readonly informers: ClusterInformers;
  readonly provider: LoadBalancerProvider;
  readonly config: ServiceControllerConfig;
  readonly recorder: EventRecorder;
  readonly logger?: Logger;
  readonly metrics?: ServiceMetrics;
  readonly queueMetrics?: WorkQueueMetrics;
  readonly backoff?: BackoffOptions;
  readonly random?: () => number;
}

/** Requeue delay after a 409: someone else wrote first; read their version and go again. */
const CONFLICT_RETRY_MS = 100;

export class ServiceController {
  readonly queue: WorkQueue<string>;
  readonly #deps: ServiceControllerDeps;
  readonly #logger: Logger;
  readonly #nodeSync: NodeSync;
  readonly #abort = new AbortController();
  readonly #syncer: ServiceSyncer;

  constructor(deps: ServiceControllerDeps) {
    this.#deps = deps;
    // Each provider call in flight listens for the stop (one per worker, removed when the call
    // ends): Node's warning at 11 listeners would call that a leak.
    setMaxListeners(0, this.#abort.signal);
    this.#logger = (deps.logger ?? noopLogger).child({ controller: 'service' });
    this.queue = new WorkQueue<string>({
      name: 'service',
      backoff: deps.backoff,
      metrics: deps.queueMetrics,
    });
    const { informers, config, provider } = deps;
    this.#nodeSync = new NodeSync({
      listNodes: () => informers.nodes.list(),
      needsProviderID: provider.capabilities.needsProviderID,
      windowMs: config.nodeBatchWindowMs,
      onChange: (nodes, firstEventAt) => this.#nodesChanged(nodes, firstEventAt),
    });
    this.#syncer = new ServiceSyncer({
      api: deps.api,
      provider,
      clusterName: config.clusterName,
      classes: config.classes,
      nodePortRange: config.nodePortRange,
      services: informers.services,
      nodeSet: () => this.#nodeSync.current,
      recorder: deps.recorder,
      metrics: deps.metrics ?? noopServiceMetrics,
      logger: this.#logger,
      signal: this.#abort.signal,
      random: deps.random,
      providerTimeoutMs: config.providerTimeoutMs,
    });
    informers.services.addHandlers({
      add: (svc) => {
        if (this.#handles(svc)) this.queue.add(objectKey(svc));
      },
      update: (old, cur) => {
        if (needsUpdate(old, cur, config.classes)) this.queue.add(objectKey(cur));
      },
      delete: (svc) => this.queue.add(objectKey(svc)),
    });
    const nodeEvent = () => this.#nodeSync.nodeEvent();
    informers.nodes.addHandlers({ add: nodeEvent, update: nodeEvent, delete: nodeEvent });
  }

  /**
   * Runs the workers until `signal` aborts, then lets in-flight syncs finish and resolves. The
   * informers must be synced first. One run per controller: a replica that lost the lease exits.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (!this.#deps.informers.services.synced || !this.#deps.informers.nodes.synced) {
      throw new Error('ServiceController.run: informers are not synced');
    }
    const { config } = this.#deps;
    this.#nodeSync.prime();
    const timers: NodeJS.Timeout[] = [];
    if (config.nodeSyncPeriodMs > 0) {
      timers.push(setInterval(() => this.resyncAll(), config.nodeSyncPeriodMs));
    }
    if (config.loadBalancerResyncPeriodMs > 0) {
      timers.push(setInterval(() => this.repairAll(), config.loadBalancerResyncPeriodMs));
    }
    if (config.gcPeriodMs > 0) {
      void this.collectGarbage();
      timers.push(setInterval(() => void this.collectGarbage(), config.gcPeriodMs));
    }
    const stop = () => {
      this.#abort.abort(signal.reason);
      for (const t of timers) clearInterval(t);
      this.#nodeSync.stop();
      void this.queue.shutdown();
    };
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
    this.#logger.info(
      { workers: config.concurrentServiceSyncs, provider: this.#deps.provider.name },
      'service controller started',
    );
    await this.queue.run(config.concurrentServiceSyncs, (key) => this.#process(key));
    this.#logger.info('service controller stopped');
  }

  /** Deletes orphaned load balancers now; returns how many. Errors are logged, not thrown. */
  async collectGarbage(): Promise<number> {
    try {
      return await collectGarbage({
        provider: this.#deps.provider,
        clusterName: this.#deps.config.clusterName,
        services: () => this.#deps.informers.services.list(),
        getService: async (namespace, name) => {
          try {
            return await this.#deps.api.readNamespacedService({ namespace, name });
          } catch (err) {
            if (isNotFound(err)) return undefined;
            throw err;
          }
        },
        logger: this.#logger,
        signal: this.#abort.signal,
        handOff: (svc) => {
          const key = objectKey(svc);
          this.#syncer.recordMadeByUs(key, svc);
          this.queue.add(key);
        },
      });
    } catch (err) {
      if (!this.#abort.signal.aborted)
        this.#logger.error({ err: String(err) }, 'garbage collection failed');
      return 0;
    }
  }

  async #process(key: string): Promise<void> {
    try {
      const outcome = await this.#syncer.sync(key);
      this.queue.forget(key);
      if (outcome.retryAfterMs !== undefined) this.queue.addAfter(key, outcome.retryAfterMs);
    } catch (err) {
      if (this.#abort.signal.aborted) return;
      if (isConflict(err)) {
        this.queue.addAfter(key, CONFLICT_RETRY_MS);
        return;
      }
      const delay = this.queue.addRateLimited(key);
      this.#logger.error(
        { service: key, err: describeError(err), retryInMs: delay },
        'sync failed; will retry',
      );
    }
  }

  #nodesChanged(nodes: readonly V1Node[], firstEventAt: number): void {
    this.#logger.info({ eligibleNodes: nodes.length }, 'eligible node set changed');
    this.resyncAll();
    this.#deps.metrics?.nodeSync((performance.now() - firstEventAt) / 1000, 0);
  }

  /** Queues every Service for a full ensure: the provider re-reads the cloud and undoes drift. */
  repairAll(): void {
    this.#syncer.forgetApplied();
    this.resyncAll();
  }

  /** Queues every Service we manage; those whose cloud side already matches make no call. */
  resyncAll(): void {
    for (const svc of this.#deps.informers.services.list()) {
      if (this.#handles(svc)) this.queue.add(objectKey(svc));
    }
  }

  /** A Service to provision for or to clean up after: what an add or a resync queues. */
  #handles(svc: V1Service): boolean {
    const { classes } = this.#deps.config;
    return wantsLoadBalancer(svc, classes) || needsCleanup(svc, classes);
  }
}

/** `ensure load balancer: CreateLoadBalancer: Throttling: ...`: the whole cause chain, one line. */
function describeError(err: unknown): string {
  const parts: string[] = [];
  for (
    let e: unknown = err;
    e !== undefined && parts.length < 8;
    e = e instanceof Error ? e.cause : undefined
  ) {
    parts.push(e instanceof Error ? e.message : String(e));
  }
  return parts.join(': ');
}
