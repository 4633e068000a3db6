/**
 * A work queue with client-go's semantics: a key waits in the queue at most once however often it
 * is added, a key is never handed to two workers at once (an add while it is processing is
 * replayed when the worker calls `done`), delayed adds keep the earliest deadline, and
 * `addRateLimited` backs off per key until `forget`.
 */
import { PerKeyBackoff, type BackoffOptions } from './backoff.js';
import { realTimers, type Timers } from './timers.js';

export type { Timers };

/** What the queue reports; `runtime/workqueue-metrics.ts` implements it with prom-client. */
export interface WorkQueueMetrics {
  add(name: string): void;
  depth(name: string, depth: number): void;
  queueLatency(name: string, seconds: number): void;
  workDuration(name: string, seconds: number): void;
  retry(name: string): void;
}

export interface WorkQueueOptions {
  /** Names the queue in metrics. @default 'queue' */
  name?: string;
  /** Per-key retry backoff. @default 5 s doubling to 5 min, 10% jitter */
  backoff?: BackoffOptions;
  metrics?: WorkQueueMetrics;
  /** @default real timers */
  timers?: Timers;
}

export class WorkQueue<K = string> {
  readonly name: string;
  readonly #queue: K[] = [];
  readonly #dirty = new Set<K>();
  readonly #processing = new Set<K>();
  readonly #addedAt = new Map<K, number>();
  readonly #delayed = new Map<K, { at: number; handle: unknown }>();
  readonly #waiters: ((key: K | undefined) => void)[] = [];
  readonly #backoff: PerKeyBackoff<K>;
  readonly #metrics: WorkQueueMetrics | undefined;
  readonly #timers: Timers;
  #shuttingDown = false;
  #drained: (() => void) | undefined;

  constructor(options: WorkQueueOptions = {}) {
    this.name = options.name ?? 'queue';
    this.#backoff = new PerKeyBackoff<K>(options.backoff);
    this.#metrics = options.metrics;
    this.#timers = options.timers ?? realTimers;
    // From the start, so an idle queue exports 0 rather than no series (an alert on depth needs one).
    this.#metrics?.depth(this.name, 0);
  }

  /** Keys waiting (not counting those being processed or delayed). */
  get length(): number {
    return this.#queue.length;
  }

  /** Keys being processed right now. */
  get processing(): number {
    return this.#processing.size;
  }

  add(key: K): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#metrics?.add(this.name);
    this.#dirty.add(key);
    this.#addedAt.set(key, this.#timers.now());
    if (this.#processing.has(key)) return;
    this.#push(key);
  }

  /** Adds `key` after `ms`; a second delayed add keeps whichever deadline comes first. */
  addAfter(key: K, ms: number): void {
    if (this.#shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const at = this.#timers.now() + ms;
    const existing = this.#delayed.get(key);
    if (existing && existing.at <= at) return;
    if (existing) this.#timers.clearTimeout(existing.handle);
    const handle = this.#timers.setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, ms);
    this.#delayed.set(key, { at, handle });
  }

  /** Adds `key` after its next backoff delay, and returns that delay. */
  addRateLimited(key: K): number {
    const delay = this.#backoff.next(key);
    this.#metrics?.retry(this.name);
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears `key`'s failure count: its next `addRateLimited` starts from the base delay. */
  forget(key: K): void {
    this.#backoff.forget(key);
  }

  /** Waits for the next key, or `undefined` once the queue is shut down and empty. */
  get(): Promise<K | undefined> {
    const key = this.#take();
    if (key !== undefined || this.#shuttingDown) return Promise.resolve(key);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Marks `key` finished; if it was added again meanwhile, it goes back in the queue. */
  done(key: K): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key)) this.#push(key);
    else if (this.#drained && this.#processing.size === 0) this.#drained();
  }

  /**
   * Stops accepting keys and drops waiting and delayed ones. Waiting `get` calls resolve
   * `undefined`; resolves once every key being processed is `done`.
   */
  shutdown(): Promise<void> {
    this.#shuttingDown = true;
    for (const { handle } of this.#delayed.values()) this.#timers.clearTimeout(handle);
    this.#delayed.clear();
    this.#queue.length = 0;
    this.#dirty.clear();
    for (const w of this.#waiters.splice(0)) w(undefined);
    if (this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.#drained = resolve));
  }

  /**
   * Runs `workers` loops that take keys and call `handle`; resolves when the queue shuts down
   * and every loop has finished its key. `handle` must not throw (it owns retry bookkeeping).
   */
  async run(workers: number, handle: (key: K) => Promise<void>): Promise<void> {
    const loop = async () => {
      for (let key = await this.get(); key !== undefined; key = await this.get()) {
        const started = this.#timers.now();
        try {
          await handle(key);
        } finally {
          this.#metrics?.workDuration(this.name, (this.#timers.now() - started) / 1000);
          this.done(key);
        }
      }
    };
    await Promise.all(Array.from({ length: workers }, loop));
  }

  #push(key: K): void {
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#start(key);
      waiter(key);
      return;
    }
    this.#queue.push(key);
    this.#metrics?.depth(this.name, this.#queue.length);
  }

  #take(): K | undefined {
    const key = this.#queue.shift();
    if (key === undefined) return undefined;
    this.#metrics?.depth(this.name, this.#queue.length);
    this.#start(key);
    return key;
  }

  #start(key: K): void {
    this.#processing.add(key);
    this.#dirty.delete(key);
    const addedAt = this.#addedAt.get(key);
    this.#addedAt.delete(key);
    if (addedAt !== undefined) {
      this.#metrics?.queueLatency(this.name, (this.#timers.now() - addedAt) / 1000);
    }
  }
}
