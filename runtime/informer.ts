/**
 * A shared informer over a ListWatch (client-node's, rebuilt in list-watch.ts), with what it lacks: it stops for
 * good on any error but a 410 (we restart it with backoff, resuming from the last
 * resourceVersion); it hands update callbacks only the new object (we keep the last-seen one so
 * handlers can compare old with new, as client-go's UpdateFunc does); and a watch on a connection
 * that died silently (no FIN: a NAT or load balancer dropped it) would wait forever. So every
 * watch asks for bookmarks, and one that has shown neither an event nor a bookmark for
 * `silenceMs` is ended here and started again from the last resourceVersion (a 410 then relists).
 * ListWatch itself takes a bookmark's version and calls no handler for it.
 */
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { backoffDelay } from './backoff.js';
import type { Watcher } from './kube-api.js';
import { ListWatch } from './list-watch.js';
import { noopLogger, type Logger } from '../contract/logger.js';
import { realTimers, type Timers } from './timers.js';

export interface InformerHandlers<T> {
  add?(obj: T): void;
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T): void;
}

export interface InformerOptions<T extends KubernetesObject> {
  /** Opens the watches (a `KubeApi`). */
  watcher: Watcher;
  /** Watch path, e.g. `/api/v1/services`. */
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  /** Short name for logs and health checks: `services`. */
  name: string;
  logger?: Logger;
  /** Restart delay after the n-th consecutive error. @default 1 s doubling to 30 s, jittered */
  restartDelayMs?: (n: number) => number;
  /** Each watch's `timeoutSeconds`. @default client-go's: 300 to 600, at random */
  watchTimeoutSeconds?: () => number;
  /**
   * A watch that has shown no event and no bookmark for this long is ended and watched again from
   * the last resourceVersion. Servers since 1.21 send a bookmark about every minute, so a healthy
   * watch on a quiet cluster stays up; 1.20 sends one only 2 s before the watch's timeout, so
   * there a quiet watch is renewed every `silenceMs` (one watch request, no relist).
   * @default 90 s
   */
  silenceMs?: number;
  /** The clock the silence is measured with. @default real timers */
  timers?: Timers;
  /**
   * Applied to every object before it is cached, listed or watched, as client-go's
   * `SetTransform`: drop what no reader needs (`stripManagedFields`). May change the object.
   */
  transform?: (obj: T) => T;
}

/**
 * Drops `metadata.managedFields`: on a real server the largest part of most objects (a field tree
 * per manager), and read by nobody here. Every write kube-lbc makes is a patch, so a cached
 * object without them is never written back.
 */
export function stripManagedFields<T extends KubernetesObject>(obj: T): T {
  if (obj.metadata?.managedFields) delete obj.metadata.managedFields;
  return obj;
}

export function objectKey(obj: KubernetesObject): string {
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${obj.metadata?.name}` : `${obj.metadata?.name}`;
}

export class Informer<T extends KubernetesObject> {
  readonly name: string;
  readonly #lw: ListWatch<T>;
  readonly #options: InformerOptions<T>;
  readonly #logger: Logger;
  readonly #handlers: InformerHandlers<T>[] = [];
  readonly #lastSeen = new Map<string, T>();
  #errors = 0;
  #silentRestarts = 0;
  #running = false;
  #synced = false;
  #restartTimer: NodeJS.Timeout | undefined;
  #failedStart: ((err: unknown) => void) | undefined;

  constructor(options: InformerOptions<T>) {
    this.name = options.name;
    this.#options = options;
    this.#logger = (options.logger ?? noopLogger).child({ informer: options.name });
    // Consecutive failures count until a watch is really established: ListWatch's `connect`
    // fires before it even lists, so resetting there kept every restart at the first delay.
    const established = () => {
      this.#errors = 0;
    };
    const transform = options.transform;
    const guard: WatchGuard = {
      transform: transform as ((obj: unknown) => unknown) | undefined,
      timeoutSeconds: options.watchTimeoutSeconds ?? (() => Math.floor(300 * (1 + Math.random()))),
      silenceMs: options.silenceMs ?? 90_000,
      timers: options.timers ?? realTimers,
      onSilent: (ms) => {
        this.#silentRestarts++;
        this.#logger.info({ silentForMs: ms }, 'no event or bookmark on the watch; watching again');
      },
    };
    this.#lw = new ListWatch<T>(
      options.path,
      guardedWatch(options.watcher, established, guard),
      transform
        ? async () => {
            const list = await options.list();
            list.items = list.items.map(transform);
            return list;
          }
        : options.list,
    );
    this.#lw.on('add', (obj) => this.#onAdd(obj));
    this.#lw.on('update', (obj) => this.#onUpdate(obj));
    this.#lw.on('delete', (obj) => this.#onDelete(obj));
    this.#lw.on('error', (err) => this.#onError(err));
  }

  addHandlers(handlers: InformerHandlers<T>): void {
    this.#handlers.push(handlers);
  }

  /**
   * Lists, then watches. Resolves once the first list has landed in the cache (synced); a
   * failing list is retried with backoff until it succeeds or `stop()` is called.
   */
  async start(): Promise<void> {
    this.#running = true;
    while (this.#running && !this.#synced) {
      const failed = new Promise<unknown>((resolve) => (this.#failedStart = resolve));
      const outcome = await Promise.race([this.#lw.start().then(() => 'ok' as const), failed]);
      this.#failedStart = undefined;
      if (outcome === 'ok' && this.#lw.latestResourceVersion() !== '') {
        this.#synced = true;
      } else if (this.#running) {
        await new Promise((r) => (this.#restartTimer = setTimeout(r, this.#delay())));
      }
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#restartTimer);
    this.#failedStart?.('stopped');
    await this.#lw.stop();
  }

  /** True once the first list landed and while the informer has not been stopped. */
  get running(): boolean {
    return this.#running && this.#synced;
  }

  get synced(): boolean {
    return this.#synced;
  }

  /** The resourceVersion the next watch starts from: the last event's or bookmark's, or the list's. */
  get resourceVersion(): string {
    return this.#lw.latestResourceVersion();
  }

  /** How many watches were ended here for showing nothing for `silenceMs`. */
  get silentRestarts(): number {
    return this.#silentRestarts;
  }

  get(key: string): T | undefined {
    const slash = key.indexOf('/');
    return slash < 0 ? this.#lw.get(key) : this.#lw.get(key.slice(slash + 1), key.slice(0, slash));
  }

  list(): readonly T[] {
    return this.#lw.list();
  }

  #onAdd(obj: T): void {
    this.#lastSeen.set(objectKey(obj), obj);
    for (const h of this.#handlers) h.add?.(obj);
  }

  #onUpdate(obj: T): void {
    const key = objectKey(obj);
    const old = this.#lastSeen.get(key) ?? obj;
    this.#lastSeen.set(key, obj);
    for (const h of this.#handlers) h.update?.(old, obj);
  }

  #onDelete(obj: T): void {
    this.#lastSeen.delete(objectKey(obj));
    for (const h of this.#handlers) h.delete?.(obj);
  }

  #onError(err: unknown): void {
    if (!this.#running) return; // ListWatch.stop() fires `error` too
    this.#errors++;
    if (this.#failedStart) {
      this.#failedStart(err);
      return;
    }
    const delay = this.#delay();
    this.#logger.warn({ err: String(err), retryInMs: delay }, 'watch failed; restarting');
    this.#restartTimer = setTimeout(() => {
      if (this.#running) void this.#lw.start();
    }, delay);
  }

  #delay(): number {
    const custom = this.#options.restartDelayMs;
    return custom
      ? custom(this.#errors)
      : backoffDelay(this.#errors, { baseMs: 1000, maxMs: 30_000 });
  }
}

type WatchCallback = (
  phase: string,
  apiObj: { code?: number } | undefined,
  watchObj?: unknown,
) => void;
type DoneCallback = (err?: unknown) => void;

interface WatchGuard {
  transform: ((obj: unknown) => unknown) | undefined;
  timeoutSeconds: () => number;
  silenceMs: number;
  timers: Timers;
  onSilent: (silentForMs: number) => void;
}

/**
 * A Watch that asks the server for bookmarks and a `timeoutSeconds`, ends itself once it has
 * heard nothing (no event, no bookmark) for `silenceMs` (cleanly, so ListWatch re-watches from its
 * last version), and ends itself on a 410 ERROR event: ListWatch waits for the stream to end
 * before it relists, and some servers (1.20 among them) keep the stream open after sending the
 * 410. `established` is told when the server accepted a watch (Watch reports a refused one
 * through `done` before it returns).
 */
function guardedWatch(watch: Watcher, established: () => void, guard: WatchGuard): Watcher {
  const inner = watch.watch.bind(watch);
  const { timers, silenceMs } = guard;
  const wrapped = async (
    path: string,
    params: Record<string, string | number | boolean | undefined>,
    callback: WatchCallback,
    done: DoneCallback,
  ) => {
    let finished = false;
    let heardAt = timers.now();
    let check: unknown;
    const doneOnce: DoneCallback = (err) => {
      if (finished) return;
      finished = true;
      timers.clearTimeout(check);
      done(err);
    };
    const controller = await inner(
      path,
      { ...params, allowWatchBookmarks: true, timeoutSeconds: guard.timeoutSeconds() },
      (phase, obj, raw) => {
        heardAt = timers.now();
        const object =
          guard.transform && obj && phase !== 'ERROR' && phase !== 'BOOKMARK'
            ? guard.transform(obj)
            : obj;
        callback(phase, object as typeof obj, raw);
        if (phase === 'ERROR' && obj?.code === 410) doneOnce({ statusCode: 410 });
      },
      doneOnce,
    );
    if (!finished) {
      established();
      // One timer per watch, moved on only when it fires: events do not reset it one by one.
      const expire = () => {
        const quiet = timers.now() - heardAt;
        if (quiet < silenceMs) {
          check = timers.setTimeout(expire, silenceMs - quiet);
          return;
        }
        guard.onSilent(quiet);
        doneOnce(); // first: the abort's own error must not reach ListWatch as a failure
        controller.abort();
      };
      check = timers.setTimeout(expire, silenceMs);
    }
    return controller;
  };
  return { watch: wrapped };
}
