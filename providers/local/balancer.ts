/**
 * One virtual service's choice of backend: the backend set, its connection counts, the
 * scheduler, and `sessionAffinity: ClientIP`. The listeners ask it for a backend per new
 * connection and give the backend back when the connection ends.
 *
 * Updating the set drains rather than cuts: a removed backend leaves the set (no new
 * connections) but the connections holding it keep running until they end on their own.
 */
import {
  createScheduler,
  type BackendView,
  type PickContext,
  type Scheduler,
  type SchedulerName,
} from './schedulers/index.js';

/** What the balancer reads from the health checker: a live flag, shared by all who watch a target. */
export interface HealthState {
  readonly healthy: boolean;
}

export interface BackendTarget {
  readonly host: string;
  readonly port: number;
  readonly weight: number;
}

const alwaysHealthy: HealthState = { healthy: true };

export class Backend implements BackendView {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  weight: number;
  activeConnections = 0;
  draining = false;
  health: HealthState = alwaysHealthy;
  /** Told when a proxied connect to this backend fails (the health checker takes it out). */
  onConnectFailure: () => void = () => {};

  constructor(target: BackendTarget) {
    this.id = `${target.host}:${target.port}`;
    this.host = target.host;
    this.port = target.port;
    this.weight = target.weight;
  }

  get available(): boolean {
    return !this.draining && this.weight > 0 && this.health.healthy;
  }
}

export interface BalancerOptions {
  scheduler: SchedulerName;
  /** `sessionAffinity: ClientIP`: a client keeps its backend this long after its last pick. */
  affinityTimeoutMs?: number;
  /** @default Date.now */
  now?: () => number;
  /** @default Math.random */
  random?: () => number;
}

/** Above this many remembered clients, expired affinity entries are swept on the next pick. */
const affinitySweepThreshold = 10_000;

export class Balancer {
  #backends: Backend[] = [];
  #schedulerName!: SchedulerName;
  #scheduler!: Scheduler;
  #affinityTimeoutMs: number | undefined;
  readonly #affinity = new Map<string, { id: string; expiresAt: number }>();
  readonly #now: () => number;
  readonly #random: () => number;

  constructor(options: BalancerOptions) {
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.configure(options);
  }

  get schedulerName(): SchedulerName {
    return this.#schedulerName;
  }

  /** The current set in a stable order (by id), draining backends excluded. */
  get backends(): readonly Backend[] {
    return this.#backends;
  }

  /** Switches scheduler or affinity; keeps the backends and their connection counts. */
  configure(options: Pick<BalancerOptions, 'scheduler' | 'affinityTimeoutMs'>): void {
    if (options.scheduler !== this.#schedulerName) {
      this.#schedulerName = options.scheduler;
      this.#scheduler = createScheduler(options.scheduler, { random: this.#random });
    }
    if (options.affinityTimeoutMs !== this.#affinityTimeoutMs) this.#affinity.clear();
    this.#affinityTimeoutMs = options.affinityTimeoutMs;
  }

  /**
   * Replaces the backend set. Returns the backends added and removed, so the caller can start
   * and stop their health checks. Removed ones drain: they are marked and dropped from the set.
   */
  setBackends(targets: readonly BackendTarget[]): { added: Backend[]; removed: Backend[] } {
    const current = new Map(this.#backends.map((b) => [b.id, b]));
    const next: Backend[] = [];
    const added: Backend[] = [];
    for (const target of targets) {
      const id = `${target.host}:${target.port}`;
      let backend = current.get(id);
      if (backend) {
        current.delete(id);
        backend.weight = target.weight;
      } else {
        backend = new Backend(target);
        added.push(backend);
      }
      next.push(backend);
    }
    const removed = [...current.values()];
    for (const b of removed) b.draining = true;
    this.#backends = next.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { added, removed };
  }

  /** Picks a backend for a new connection and counts it; `undefined` if none is available. */
  acquire(ctx: PickContext): Backend | undefined {
    const backend =
      this.#fromAffinity(ctx) ?? (this.#scheduler.pick(this.#backends, ctx) as Backend | undefined);
    if (!backend) return undefined;
    backend.activeConnections++;
    if (this.#affinityTimeoutMs !== undefined) {
      this.#affinity.set(ctx.clientAddress, {
        id: backend.id,
        expiresAt: this.#now() + this.#affinityTimeoutMs,
      });
    }
    return backend;
  }

  /** Gives back a backend taken by `acquire` (it may have been removed meanwhile: that is fine). */
  release(backend: Backend): void {
    backend.activeConnections--;
  }

  #fromAffinity(ctx: PickContext): Backend | undefined {
    if (this.#affinityTimeoutMs === undefined) return undefined;
    const now = this.#now();
    if (this.#affinity.size > affinitySweepThreshold) {
      for (const [client, entry] of this.#affinity)
        if (entry.expiresAt <= now) this.#affinity.delete(client);
    }
    const entry = this.#affinity.get(ctx.clientAddress);
    if (!entry || entry.expiresAt <= now) return undefined;
    return this.#backends.find((b) => b.id === entry.id && b.available);
  }
}
