/**
 * Leader election on a coordination.k8s.io/v1 Lease, with client-go's leaderelection semantics:
 * a candidate takes the Lease when it is free or has not been renewed for `leaseDuration`, the
 * leader renews it every `retryPeriod`, and a leader that cannot renew within `renewDeadline`
 * stops leading (aborting the signal its work runs under) before anyone else may take over.
 *
 * Expiry is judged the way client-go judges it: by when *this* replica last saw the record change,
 * on its own clock, never by comparing the `renewTime` written by another machine with ours.
 */
import type { V1LeaseSpec } from '@kubernetes/client-node';
// Alone, not through the package's index: that loads the whole generated API (see kube-api.ts).
import { V1MicroTime } from '@kubernetes/client-node/dist/types.js';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { errorMessage } from '../contract/errors.js';
import { isConflict } from './api-errors.js';
import { LeaseLock, type LeaseApi } from './lease-lock.js';
import { noopLogger, type Logger } from '../contract/logger.js';
import { abortableSleep } from './sleep.js';

export type { LeaseApi } from './lease-lock.js';

/** Told when leadership starts and stops: the metrics module's leader gauge listens here. */
export interface LeaderMetrics {
  leaderOn(name: string): void;
  leaderOff(name: string): void;
}

export interface LeaderElectionOptions {
  /** The Lease calls: a `KubeApi` (or client-node's `CoordinationV1Api`). */
  api: LeaseApi;
  namespace: string;
  name: string;
  /** Unique per replica. @default defaultIdentity() */
  identity?: string;
  /** How long a Lease is honoured after its last observed change. @default 15000 */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before it stops leading. @default 10000 */
  renewDeadlineMs?: number;
  /** Pause between attempts, to acquire and to renew. @default 2000 */
  retryPeriodMs?: number;
  /**
   * Runs on becoming leader. `signal` aborts when leadership ends (lost or released): stop every
   * cloud write before the next one. Not awaited; a rejection is logged.
   */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Runs once when leadership ends, after the signal has aborted. */
  onStoppedLeading?(): void;
  /** Runs when the observed holder changes to a non-empty identity (ours included). */
  onNewLeader?(identity: string): void;
  metrics?: LeaderMetrics;
  logger?: Logger;
  /** @default Date.now */
  now?: () => number;
  /** Resolves after `ms`, or early (without rejecting) when `signal` aborts. @default timers */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** @default Math.random */
  random?: () => number;
}

/** client-go's JitterFactor for the acquire loop: wait retryPeriod * (1 + 1.2 * random). */
const acquireJitter = 1.2;

/** A pod name is unique only while the pod lives; the suffix keeps a restarted pod distinct. */
export function defaultIdentity(): string {
  return `${hostname()}_${randomUUID()}`;
}

/** Checks the three durations against each other, as client-go's NewLeaderElector does. */
export function validateLeaderElectionTimings(t: {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}): string[] {
  const errors: string[] = [];
  if (!(t.leaseDurationMs > t.renewDeadlineMs)) {
    errors.push(
      `lease duration (${t.leaseDurationMs} ms) must be greater than renew deadline (${t.renewDeadlineMs} ms)`,
    );
  }
  if (!(t.renewDeadlineMs > acquireJitter * t.retryPeriodMs)) {
    errors.push(
      `renew deadline (${t.renewDeadlineMs} ms) must be greater than ${acquireJitter} x retry period (${t.retryPeriodMs} ms)`,
    );
  }
  if (!(t.retryPeriodMs > 0)) errors.push(`retry period (${t.retryPeriodMs} ms) must be positive`);
  return errors;
}

export class LeaderElector {
  readonly identity: string;
  readonly #o: Required<
    Omit<LeaderElectionOptions, 'api' | 'onStoppedLeading' | 'onNewLeader' | 'metrics'>
  > &
    Pick<LeaderElectionOptions, 'onStoppedLeading' | 'onNewLeader' | 'metrics'>;
  readonly #lock: LeaseLock;
  readonly #log: Logger;
  /** Aborted by `stop()`/`release()`: ends both loops. */
  readonly #stopped = new AbortController();
  #observedSpec: V1LeaseSpec = {};
  #observedKey = '';
  /** Local time at which the record was last seen to change (or was written by us). */
  #observedAt = 0;
  #reportedLeader = '';
  #leading: AbortController | undefined;
  /** Bumped per attempt, so the answer of an attempt abandoned at the deadline is ignored. */
  #attempt = 0;
  #running: Promise<void> | undefined;

  constructor(options: LeaderElectionOptions) {
    const timings = {
      leaseDurationMs: options.leaseDurationMs ?? 15_000,
      renewDeadlineMs: options.renewDeadlineMs ?? 10_000,
      retryPeriodMs: options.retryPeriodMs ?? 2_000,
    };
    const errors = validateLeaderElectionTimings(timings);
    if (errors.length > 0) throw new TypeError(`leader election: ${errors.join('; ')}`);
    this.identity = options.identity ?? defaultIdentity();
    this.#o = {
      ...options,
      ...timings,
      identity: this.identity,
      logger: options.logger ?? noopLogger,
      now: options.now ?? Date.now,
      sleep: options.sleep ?? abortableSleep,
      random: options.random ?? Math.random,
    };
    this.#lock = new LeaseLock(options.api, options.namespace, options.name);
    this.#log = this.#o.logger.child({ lease: `${options.namespace}/${options.name}` });
  }

  /** True between `onStartedLeading` and the abort of its signal. */
  isLeader(): boolean {
    return this.#leading !== undefined;
  }

  /** The holder this replica last observed, or undefined when the Lease is free or unseen. */
  getLeader(): string | undefined {
    return this.#observedSpec.holderIdentity || undefined;
  }

  /**
   * Campaigns until leader, then leads until the Lease is lost, `stop()` or `release()`. Resolves
   * then; it does not campaign again (upstream exits on a lost Lease, and so should the caller).
   */
  run(): Promise<void> {
    this.#running ??= this.#run().catch((err: unknown) => {
      this.#log.error({ err: errorMessage(err) }, 'leader election stopped on an error');
      this.#stopLeading();
    });
    return this.#running;
  }

  /**
   * Stops without releasing the Lease, as a crash would: others wait for it to expire. Tests use
   * it to kill a leader.
   */
  async stop(): Promise<void> {
    this.#stopped.abort();
    this.#stopLeading();
    await this.#running;
  }

  /**
   * Stops leading and clears `holderIdentity` so a standby takes over at once instead of waiting
   * out the lease. Call it on shutdown after in-flight work has drained.
   */
  async release(): Promise<void> {
    await this.stop();
    if (this.#observedSpec.holderIdentity !== this.identity || !this.#lock.known) return;
    const now = new V1MicroTime(this.#o.now());
    const spec: V1LeaseSpec = {
      holderIdentity: '',
      leaseDurationSeconds: 1,
      leaseTransitions: this.#observedSpec.leaseTransitions,
      acquireTime: now,
      renewTime: now,
    };
    for (let tries = 0; tries < 2; tries++) {
      try {
        this.#observe(await this.#lock.update(spec), true);
        this.#log.info('released the lease');
        return;
      } catch (err) {
        // A renew answered after we stopped waiting for it moved the resourceVersion: re-read.
        if (!isConflict(err)) break;
        const current = await this.#lock.get().catch(() => undefined);
        if (current?.holderIdentity !== this.identity) return;
      }
    }
    this.#log.warn('could not release the lease; a standby takes over when it expires');
  }

  /**
   * client-go's HealthzAdaptor: a leader that has not renewed for `leaseDuration + tolerance`
   * should have stopped leading already; if it has not, the process is stuck and must restart.
   */
  healthCheck(toleranceMs = 20_000): void {
    if (!this.isLeader()) return;
    const since = this.#o.now() - this.#observedAt;
    if (since > this.#o.leaseDurationMs + toleranceMs) {
      throw new Error(`failed to renew lease ${this.#o.namespace}/${this.#o.name} for ${since} ms`);
    }
  }

  async #run(): Promise<void> {
    const stop = this.#stopped.signal;
    this.#log.info({ identity: this.identity }, 'campaigning for the lease');
    while (!stop.aborted) {
      const started = this.#o.now();
      if (await this.#tryAcquireOrRenew(this.#o.renewDeadlineMs)) {
        if (stop.aborted) return;
        this.#startLeading();
        await this.#renewLoop(started);
        return;
      }
      const jittered = this.#o.retryPeriodMs * (1 + acquireJitter * this.#o.random());
      await this.#o.sleep(jittered, stop);
    }
  }

  /**
   * Renews every retry period. The deadline runs from the start of the last successful attempt:
   * the server wrote renewTime after that instant, and every other replica started its lease
   * timer later still, so stopping at the deadline always comes before anyone may take over.
   */
  async #renewLoop(lastSuccessStart: number): Promise<void> {
    const stop = this.#stopped.signal;
    let deadline = lastSuccessStart + this.#o.renewDeadlineMs;
    await this.#o.sleep(this.#o.retryPeriodMs, stop);
    while (!stop.aborted) {
      const started = this.#o.now();
      const remaining = deadline - started;
      if (remaining > 0 && (await this.#tryAcquireOrRenew(remaining))) {
        deadline = started + this.#o.renewDeadlineMs;
        await this.#o.sleep(this.#o.retryPeriodMs, stop);
        continue;
      }
      if (stop.aborted) return;
      const left = deadline - this.#o.now();
      if (left <= 0) {
        this.#log.error(
          { renewDeadlineMs: this.#o.renewDeadlineMs },
          'lost the lease: renew deadline passed',
        );
        this.#stopLeading();
        return;
      }
      await this.#o.sleep(Math.min(this.#o.retryPeriodMs, left), stop);
    }
  }

  /** One attempt, abandoned after `timeoutMs` or on stop; true when we hold the Lease now. */
  async #tryAcquireOrRenew(timeoutMs: number): Promise<boolean> {
    const attempt = ++this.#attempt;
    const giveUp = new AbortController();
    const onStop = () => giveUp.abort();
    this.#stopped.signal.addEventListener('abort', onStop, { once: true });
    try {
      const work = this.#attemptOnce(attempt);
      // An abandoned attempt may still fail later; its outcome no longer matters.
      work.catch(() => {});
      const timedOut = this.#o.sleep(timeoutMs, giveUp.signal).then(() => false);
      return await Promise.race([work, timedOut]);
    } catch (err) {
      this.#log.warn({ err: errorMessage(err) }, 'lease attempt failed');
      return false;
    } finally {
      giveUp.abort();
      this.#stopped.signal.removeEventListener('abort', onStop);
      if (attempt === this.#attempt) this.#attempt++;
    }
  }

  /** client-go's tryAcquireOrRenew. Writes nothing to our state once `attempt` is stale. */
  async #attemptOnce(attempt: number): Promise<boolean> {
    const current = () => attempt === this.#attempt;
    const now = () => new V1MicroTime(this.#o.now());
    const desired: V1LeaseSpec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.#o.leaseDurationMs / 1000),
      acquireTime: now(),
      renewTime: now(),
    };
    // Fast path: the leader updates from the copy it holds, with no read first.
    if (this.#holdsValidLease() && this.#lock.known) {
      try {
        const renewed = await this.#lock.update({
          ...desired,
          acquireTime: this.#observedSpec.acquireTime,
          leaseTransitions: this.#observedSpec.leaseTransitions,
        });
        if (!current()) return false;
        this.#observe(renewed, true);
        return true;
      } catch (err) {
        if (!current()) return false;
        this.#log.debug(
          { err: errorMessage(err) },
          'optimistic renew failed; re-reading the lease',
        );
      }
    }

    const existing = await this.#lock.get();
    if (!current()) return false;
    if (!existing) {
      const created = await this.#lock.create({ ...desired, leaseTransitions: 0 });
      if (!current()) return false;
      this.#observe(created, true);
      return true;
    }

    this.#observe(existing, false);
    const holder = existing.holderIdentity;
    if (holder && holder !== this.identity && this.#leaseValid()) return false;

    const ours = holder === this.identity;
    const updated = await this.#lock.update({
      ...desired,
      acquireTime: ours ? (existing.acquireTime ?? desired.acquireTime) : desired.acquireTime,
      leaseTransitions: (existing.leaseTransitions ?? 0) + (ours ? 0 : 1),
    });
    if (!current()) return false;
    this.#observe(updated, true);
    return true;
  }

  #holdsValidLease(): boolean {
    return this.#observedSpec.holderIdentity === this.identity && this.#leaseValid();
  }

  #leaseValid(): boolean {
    const seconds = this.#observedSpec.leaseDurationSeconds ?? 0;
    return this.#observedAt + seconds * 1000 > this.#o.now();
  }

  /** Records the Lease; the local clock restarts only when the record itself changed. */
  #observe(spec: V1LeaseSpec, written: boolean): void {
    const key = recordKey(spec);
    if (written || key !== this.#observedKey) {
      this.#observedKey = key;
      this.#observedSpec = spec;
      this.#observedAt = this.#o.now();
    }
    const holder = spec.holderIdentity ?? '';
    if (holder && holder !== this.#reportedLeader) {
      this.#reportedLeader = holder;
      this.#log.info({ leader: holder }, 'new leader observed');
      this.#o.onNewLeader?.(holder);
    }
  }

  #startLeading(): void {
    const leading = new AbortController();
    this.#leading = leading;
    this.#o.metrics?.leaderOn(this.#o.name);
    this.#log.info({ identity: this.identity }, 'became leader');
    try {
      void Promise.resolve(this.#o.onStartedLeading(leading.signal)).catch((err: unknown) =>
        this.#log.error({ err: errorMessage(err) }, 'onStartedLeading failed'),
      );
    } catch (err) {
      this.#log.error({ err: errorMessage(err) }, 'onStartedLeading failed');
    }
  }

  #stopLeading(): void {
    const leading = this.#leading;
    if (!leading) return;
    this.#leading = undefined;
    leading.abort(new Error('leadership lost'));
    this.#o.metrics?.leaderOff(this.#o.name);
    this.#log.info('stopped leading');
    this.#o.onStoppedLeading?.();
  }
}

/** The record's identity for change detection; times compared as instants, whatever their type. */
function recordKey(spec: V1LeaseSpec): string {
  const t = (v: unknown) => (v === undefined ? '' : new Date(v as string).getTime());
  return JSON.stringify([
    spec.holderIdentity ?? '',
    spec.leaseDurationSeconds ?? 0,
    spec.leaseTransitions ?? 0,
    t(spec.acquireTime),
    t(spec.renewTime),
  ]);
}
