/**
 * `syncService(key)`: reads the Service from the cache and picks a path: delete (cleanup), ensure
 * (create or change), update hosts (only the node set changed) or nothing at all. Every path can be
 * retried from the top after a crash at any point: what was done is found again in the cluster and
 * the cloud. Two in-memory records sit beside it: the skip-cache (`AppliedCache`), which only saves
 * calls, and which load balancers we made (`MadeByUs`), which says what is ours to clean up.
 */
import type { V1LoadBalancerIngress, V1Node, V1Service } from '@kubernetes/client-node';
import { validateService } from '../../contract/capabilities.js';
import {
  InvalidServiceError,
  RetryAfterError,
  errorMessage,
  findCause,
  formatFieldErrors,
} from '../../contract/errors.js';
import type { Logger } from '../../contract/logger.js';
import type { CallContext, FieldError, LoadBalancerProvider } from '../../contract/provider.js';
import { AppliedCache, type AppliedState } from './applied-cache.js';
import type { EventRecorder } from './events.js';
import { MadeByUs } from './made-by-us.js';
import type { NodeSet } from './node-sync.js';
import type { ServiceMetrics, SyncOperation, SyncResult } from './metrics.js';
import { allocateNodePorts, portsMissingNodePort, type NodePortRange } from './nodeports.js';
import {
  hasCleanupFinalizer,
  isOurClass,
  needsCleanup,
  RELEASE_ANNOTATION,
  releaseRequest,
  serviceFingerprint,
  wantsLoadBalancer,
  type ClassFilter,
} from './predicates.js';
import {
  addFinalizer,
  cacheCaughtUp,
  patchStatus,
  removeFinalizer,
  sameIngress,
  type ServiceWriteApi,
} from './status.js';

export interface ServiceSyncerDeps {
  readonly api: ServiceWriteApi;
  readonly provider: LoadBalancerProvider;
  readonly clusterName: string;
  readonly classes: ClassFilter;
  readonly nodePortRange: NodePortRange;
  readonly services: { get(key: string): V1Service | undefined; list(): readonly V1Service[] };
  /** The eligible nodes right now, with their fingerprint, as the node sync last computed them. */
  readonly nodeSet: () => NodeSet;
  readonly recorder: EventRecorder;
  readonly metrics: ServiceMetrics;
  readonly logger: Logger;
  /** Aborted on shutdown or lost leadership: no cloud write starts after it. */
  readonly signal: AbortSignal;
  readonly random?: () => number;
  readonly now?: () => number;
  /**
   * How long one provider method may run before the sync abandons it: its `ctx.signal` aborts
   * and the sync fails (Warning, backoff), so a method that never settles cannot hold a worker.
   * @default 300000
   */
  readonly providerTimeoutMs?: number;
}

const DEFAULT_PROVIDER_TIMEOUT_MS = 5 * 60_000;

/** What the queue should do with the key next; a thrown error means "back off and retry". */
export type SyncOutcome = { readonly retryAfterMs?: number };

export class ServiceSyncer {
  readonly #deps: ServiceSyncerDeps;
  readonly #applied = new AppliedCache();
  readonly #madeByUs = new MadeByUs();

  constructor(deps: ServiceSyncerDeps) {
    this.#deps = deps;
  }

  /**
   * Forgets what every Service was last made to match, so each one's next sync asks the provider
   * again: a load balancer changed or deleted out of band is repaired. Costs cloud reads.
   */
  forgetApplied(): void {
    this.#applied.forgetAll();
  }

  /**
   * Records that we made (or started to make) the load balancer of `svc`, so its next sync treats
   * it as ours: deletes it if the Service is no longer a LoadBalancer, ensures in full if it is
   * one. The garbage collector calls this for one it found in the cloud, tagged with the UID.
   * A record already there for this UID is kept.
   */
  recordMadeByUs(key: string, svc: V1Service): void {
    this.#madeByUs.record(key, svc);
  }

  async sync(key: string): Promise<SyncOutcome> {
    const svc = this.#deps.services.get(key);
    if (!svc) return this.#syncVanished(key);
    const madeByUs = this.#madeByUs.has(key, svc);
    const release = releaseRequest(svc);
    if (release !== 'managed') return this.#timed('noop', () => this.#release(key, svc, release));
    if (needsCleanup(svc, this.#deps.classes, madeByUs))
      return this.#timed('delete', () => this.#delete(key, svc));
    // Going away without our finalizer: we made nothing (or our finalizer was stripped, and the
    // vanished path cleans up). A finalizer may not be added to an object being deleted anyway.
    if (svc.metadata?.deletionTimestamp != null) return this.#timed('noop', async () => ({}));
    if (!wantsLoadBalancer(svc, this.#deps.classes)) {
      // Our finalizer went with the change (a manifest PUT whole carries none): what we made for
      // this Service is still ours to delete, as upstream deletes on any change of type.
      if (madeByUs && svc.spec?.type !== 'LoadBalancer')
        return this.#timed('delete', () => this.#delete(key, svc));
      this.#forget(key);
      return this.#timed('noop', async () => ({}));
    }
    return this.#ensureOrUpdate(key, svc);
  }

  /**
   * The release annotation is set: no ensure, no delete, no host update while it stays. A Service
   * still carrying our finalizer is handed back first (the provider removes its marks), then the
   * finalizer goes; a Service being deleted meanwhile is released too, as its user asked to keep
   * the load balancer, and its deletion then proceeds.
   */
  async #release(
    key: string,
    svc: V1Service,
    request: 'released' | 'invalid',
  ): Promise<SyncOutcome> {
    const { api, provider, recorder, clusterName } = this.#deps;
    const ours = isOurClass(svc, this.#deps.classes) || this.#madeByUs.has(key, svc);
    if (request === 'invalid' && ours) {
      const value = svc.metadata?.annotations?.[RELEASE_ANNOTATION];
      const message = `Invalid annotation ${RELEASE_ANNOTATION}: ${JSON.stringify(value)} (want "true" or "false"); load balancer left unchanged`;
      this.#deps.logger.warn(
        { service: key, field: `metadata.annotations[${RELEASE_ANNOTATION}]` },
        message,
      );
      recorder.record(svc, 'Warning', 'SyncLoadBalancerFailed', message);
      return {};
    }
    if (!ours || !hasCleanupFinalizer(svc)) {
      this.#forget(key);
      return {};
    }
    const releaseLoadBalancer = provider.releaseLoadBalancer?.bind(provider);
    if (!releaseLoadBalancer) {
      recorder.record(
        svc,
        'Warning',
        'ReleaseUnsupported',
        `Provider ${provider.name} cannot release a load balancer; ${RELEASE_ANNOTATION} ignored, nothing changed`,
      );
      return {};
    }
    this.#deps.signal.throwIfAborted();
    await this.#callProvider(key, svc, 'releaseLoadBalancer', (ctx) =>
      releaseLoadBalancer(ctx, clusterName, svc),
    );
    await removeFinalizer(api, svc);
    this.#forget(key);
    this.#deps.logger.info({ service: key }, 'released load balancer');
    recorder.record(
      svc,
      'Normal',
      'Released',
      'Released load balancer; kube-lbc no longer manages it',
    );
    return {};
  }

  /** Gone from the cluster: if our finalizer was stripped by hand, clean up what we made. */
  async #syncVanished(key: string): Promise<SyncOutcome> {
    const made = this.#madeByUs.service(key);
    if (!made) return {};
    return this.#timed('delete', async () => {
      await this.#callProvider(key, made, 'ensureLoadBalancerDeleted', (ctx) =>
        this.#deps.provider.ensureLoadBalancerDeleted(ctx, this.#deps.clusterName, made),
      );
      this.#forget(key);
      return {};
    });
  }

  async #ensureOrUpdate(key: string, svc: V1Service): Promise<SyncOutcome> {
    const { provider } = this.#deps;
    let invalid: readonly FieldError[];
    try {
      invalid = validateService(svc, provider);
    } catch (err) {
      // A provider whose validateService throws (a plugin's bug) fails the Service visibly.
      return this.#timed('ensure', () => this.#ensureFailed(key, svc, err));
    }
    if (invalid.length) return this.#timed('invalid', () => this.#reportInvalid(key, svc, invalid));

    let cur = svc;
    if (provider.capabilities.targetsNodePorts && portsMissingNodePort(cur).length) {
      cur = await allocateNodePorts(this.#deps.api, cur, {
        range: this.#deps.nodePortRange,
        inUse: () => this.#deps.services.list(),
        random: this.#deps.random,
      });
    }
    const { nodes, fingerprint: nodesFp } = this.#deps.nodeSet();
    const serviceFp = serviceFingerprint(cur);
    const applied = this.#applied.matching(key, cur.metadata?.uid, serviceFp);
    if (applied) {
      if (applied.nodesFingerprint === nodesFp)
        return this.#timed('noop', () => this.#repairStatus(key, cur, applied));
      return this.#timed('update_hosts', () =>
        this.#updateHosts(key, cur, nodes, nodesFp, applied),
      );
    }
    return this.#timed('ensure', () => this.#ensure(key, cur, nodes, nodesFp, serviceFp));
  }

  async #ensure(
    key: string,
    svc: V1Service,
    nodes: readonly V1Node[],
    nodesFp: string,
    serviceFp: string,
  ): Promise<SyncOutcome> {
    const { api, provider, recorder, clusterName } = this.#deps;
    this.#deps.signal.throwIfAborted();
    const hadIngress = (svc.status?.loadBalancer?.ingress?.length ?? 0) > 0;
    // Whatever this attempt leaves behind is ours: a Service that leaves our class before its load
    // balancer is ready (the type change clears spec.loadBalancerClass) must still be cleaned up.
    this.#madeByUs.record(key, svc);
    const apply = this.#applied.startApply(key);
    recorder.record(svc, 'Normal', 'EnsuringLoadBalancer', 'Ensuring load balancer');
    // The finalizer patch and the cloud call run side by side, one API round trip less before
    // the address is out; the status is written only once both succeeded, so no Service shows an
    // ingress without our finalizer. A load balancer made while the patch failed (a conflict, the
    // Service deleted meanwhile) is still ours: the record above makes the next sync finish or
    // delete it, and after a crash the garbage collector finds it by its tags.
    const finalized = hasCleanupFinalizer(svc) ? Promise.resolve(svc) : addFinalizer(api, svc);
    const ensured = this.#callProvider(key, svc, 'ensureLoadBalancer', (ctx) =>
      provider.ensureLoadBalancer(ctx, clusterName, svc, nodes),
    );
    const [finalizer, cloud] = await Promise.allSettled([finalized, ensured]);
    if (finalizer.status === 'rejected') throw finalizer.reason;
    const cur = finalizer.value;
    if (cloud.status === 'rejected') return this.#ensureFailed(key, cur, cloud.reason);
    const ingress = this.#withIpMode(cloud.value.ingress);
    const written = await patchStatus(api, cur, {
      ingress,
      ready: { reason: 'Ready', message: 'Load balancer is ready' },
    });
    if (!hadIngress && ingress.length) this.#observeFirstIngress(cur);
    this.#deps.logger.info(
      { service: key, ingress: ingress.map((i) => i.ip ?? i.hostname) },
      'ensured load balancer',
    );
    recorder.record(cur, 'Normal', 'EnsuredLoadBalancer', 'Ensured load balancer');
    this.#madeByUs.update(key, cur);
    this.#applied.finishApply(apply, {
      uid: cur.metadata?.uid ?? '',
      serviceFingerprint: serviceFp,
      nodesFingerprint: nodesFp,
      ingress,
      statusVersion: written?.metadata?.resourceVersion ?? cur.metadata?.resourceVersion,
    });
    return {};
  }

  async #ensureFailed(key: string, svc: V1Service, err: unknown): Promise<SyncOutcome> {
    const { api, recorder } = this.#deps;
    this.#rethrowIfStopping(err);
    const retry = findCause(err, RetryAfterError);
    if (retry) {
      const ingress = retry.status ? this.#withIpMode(retry.status.ingress) : undefined;
      await patchStatus(api, svc, {
        ingress,
        ready: { reason: 'Provisioning', message: retry.message },
      });
      return { retryAfterMs: retry.delayMs };
    }
    const invalid = findCause(err, InvalidServiceError);
    if (invalid) return this.#reportInvalid(key, svc, invalid.fieldErrors);
    const message = `Error syncing load balancer: ${errorMessage(err)}`;
    recorder.record(svc, 'Warning', 'SyncLoadBalancerFailed', message);
    await patchStatus(api, svc, { ready: { reason: 'Failed', message } }).catch(() => undefined);
    throw new Error('ensure load balancer', { cause: err });
  }

  async #updateHosts(
    key: string,
    svc: V1Service,
    nodes: readonly V1Node[],
    nodesFp: string,
    applied: AppliedState,
  ): Promise<SyncOutcome> {
    const { provider, recorder, clusterName } = this.#deps;
    this.#deps.signal.throwIfAborted();
    try {
      await this.#callProvider(key, svc, 'updateLoadBalancerHosts', (ctx) =>
        provider.updateLoadBalancerHosts(ctx, clusterName, svc, nodes),
      );
    } catch (err) {
      this.#rethrowIfStopping(err);
      recorder.record(
        svc,
        'Warning',
        'UpdateLoadBalancerFailed',
        `Error updating load balancer with new hosts: ${errorMessage(err)}`,
      );
      throw new Error('update load balancer hosts', { cause: err });
    }
    this.#applied.hostsUpdated(key, applied, nodesFp);
    this.#deps.logger.info({ service: key, nodes: nodes.length }, 'updated load balancer hosts');
    recorder.record(
      svc,
      'Normal',
      'UpdatedLoadBalancer',
      `Updated load balancer with new hosts (${nodes.length} nodes)`,
    );
    return {};
  }

  /** Nothing changed: no cloud call. Only put status back if someone changed it under us. */
  async #repairStatus(key: string, svc: V1Service, applied: AppliedState): Promise<SyncOutcome> {
    const current = svc.status?.loadBalancer?.ingress ?? [];
    if (!sameIngress(current, applied.ingress) && cacheCaughtUp(svc, applied.statusVersion)) {
      this.#deps.logger.info(
        { service: key },
        'status differs from the load balancer; rewriting it',
      );
      await patchStatus(this.#deps.api, svc, {
        ingress: applied.ingress,
        ready: { reason: 'Ready', message: 'Load balancer is ready' },
      });
    }
    return {};
  }

  async #delete(key: string, svc: V1Service): Promise<SyncOutcome> {
    const { api, provider, recorder, clusterName } = this.#deps;
    this.#deps.signal.throwIfAborted();
    recorder.record(svc, 'Normal', 'DeletingLoadBalancer', 'Deleting load balancer');
    try {
      await this.#callProvider(key, svc, 'ensureLoadBalancerDeleted', (ctx) =>
        provider.ensureLoadBalancerDeleted(ctx, clusterName, svc),
      );
    } catch (err) {
      // The cloud releasing a resource takes time (AWS holds a security group for a while): wait as told.
      this.#rethrowIfStopping(err);
      const retry = findCause(err, RetryAfterError);
      if (retry) return { retryAfterMs: retry.delayMs };
      recorder.record(
        svc,
        'Warning',
        'DeleteLoadBalancerFailed',
        `Error deleting load balancer: ${errorMessage(err)}`,
      );
      throw new Error('delete load balancer', { cause: err });
    }
    // A Service that stays (type or class changed) must not keep advertising the old address.
    // The finalizer patch is guarded by resourceVersion: it must carry the one that write produced.
    let cur: V1Service = svc;
    if (svc.metadata?.deletionTimestamp == null)
      cur = (await patchStatus(api, svc, { ingress: [], ready: null })) ?? svc;
    if (hasCleanupFinalizer(cur)) await removeFinalizer(api, cur);
    this.#forget(key);
    this.#deps.logger.info({ service: key }, 'deleted load balancer');
    recorder.record(svc, 'Normal', 'DeletedLoadBalancer', 'Deleted load balancer');
    return {};
  }

  async #reportInvalid(
    key: string,
    svc: V1Service,
    errors: readonly FieldError[],
  ): Promise<SyncOutcome> {
    const message = `Invalid Service, load balancer left unchanged: ${formatFieldErrors(errors)}`;
    this.#deps.logger.warn({ service: key, fields: errors.map((e) => e.field) }, message);
    this.#deps.recorder.record(svc, 'Warning', 'SyncLoadBalancerFailed', message);
    await patchStatus(this.#deps.api, svc, { ready: { reason: 'Invalid', message } });
    // Not retried: only a change to the Service (which requeues it) can make it valid. A change
    // back to what was last applied must still ensure once, to put the condition back to Ready.
    this.#applied.forget(key);
    return {};
  }

  /** Nothing of `key` is ours any more: its load balancer is gone, or was never ours. */
  #forget(key: string): void {
    this.#applied.forget(key);
    this.#madeByUs.forget(key);
  }

  #withIpMode(ingress: readonly V1LoadBalancerIngress[]): V1LoadBalancerIngress[] {
    const ipMode = this.#deps.provider.capabilities.ipMode;
    return ingress.map((i) => (i.ip && !i.ipMode ? { ...i, ipMode } : { ...i }));
  }

  #observeFirstIngress(svc: V1Service): void {
    const created = svc.metadata?.creationTimestamp;
    if (!created) return;
    const now = this.#deps.now?.() ?? Date.now();
    this.#deps.metrics.firstIngress(Math.max(0, (now - new Date(created).getTime()) / 1000));
  }

  /**
   * Runs one provider method under its deadline. Past it the method is abandoned, not stopped:
   * its `ctx.signal` aborts, so a provider that checks it before each write (as the contract asks)
   * writes nothing more, and the Service is retried with backoff like any failure.
   */
  async #callProvider<T>(
    key: string,
    svc: V1Service,
    method: string,
    fn: (ctx: CallContext) => Promise<T>,
  ): Promise<T> {
    const timeoutMs = this.#deps.providerTimeoutMs ?? DEFAULT_PROVIDER_TIMEOUT_MS;
    const deadline = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new Error(`${method} did not settle within ${timeoutMs} ms; abandoned`);
        deadline.abort(err);
        reject(err);
      }, timeoutMs);
    });
    // One controller aborted by either, linked by hand: AbortSignal.any per call showed in the
    // profile (it tracks its sources through weak references).
    const stopping = this.#deps.signal;
    const onStop = () => deadline.abort(stopping.reason);
    if (stopping.aborted) onStop();
    else stopping.addEventListener('abort', onStop, { once: true });
    const ctx = this.#ctx(key, svc, deadline.signal);
    try {
      return await Promise.race([fn(ctx), expired]);
    } finally {
      clearTimeout(timer);
      stopping.removeEventListener('abort', onStop);
    }
  }

  #ctx(key: string, svc: V1Service, signal: AbortSignal): CallContext {
    return {
      signal,
      logger: this.#deps.logger.child({ service: key }),
      recordEvent: (type, reason, message) =>
        this.#deps.recorder.record(svc, type, reason, message),
    };
  }

  /**
   * A cloud call cut short because this replica is stopping or lost its Lease is not the
   * Service's failure: no Warning, no Failed condition; the next leader picks the Service up.
   */
  #rethrowIfStopping(err: unknown): void {
    if (this.#deps.signal.aborted) throw err;
  }

  async #timed(operation: SyncOperation, fn: () => Promise<SyncOutcome>): Promise<SyncOutcome> {
    const started = performance.now();
    let result: SyncResult = 'error';
    try {
      const outcome = await fn();
      result =
        operation === 'invalid'
          ? 'invalid'
          : outcome.retryAfterMs !== undefined
            ? 'retry_after'
            : 'success';
      return outcome;
    } finally {
      this.#deps.metrics.sync(operation, result, (performance.now() - started) / 1000);
    }
  }
}
