/**
 * Watch streams in the wire format client-go and client-node read: newline-delimited
 * `{"type":..., "object":...}` over a chunked 200. From no version (or "0") the current objects
 * come first as ADDED; from a version, the events after it are replayed from the window; a
 * version older than the window gets one ERROR event carrying a 410 Expired Status and the
 * stream ends, which is what makes client-node's ListWatch relist. Selectors apply to both sides
 * of a change, so an object leaving the selection arrives as DELETED.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { expired } from './errors.js';
import { present, type Rest, type Target } from './rest.js';
import type { Store, StoreEvent } from './store.js';
import { toTable, wantsTable } from './table.js';
import { apiVersionOf, storageKeyOf, type KObject } from './types.js';

export interface WatchOptions {
  /**
   * How often a watch that allows bookmarks gets one, as servers since 1.21 send them; 0 sends
   * only the one before the watch's timeout, as 1.20 does. @default 60000 (the real server's minute)
   */
  bookmarkIntervalMs: number;
}

interface OpenWatch {
  target: Target;
  end(abrupt: boolean): void;
  /** Sends nothing more and never ends, as a connection that died without a FIN looks. */
  stall(): void;
}

export class WatchHub {
  readonly #store: Store;
  readonly #rest: Rest;
  readonly #options: WatchOptions;
  readonly #open = new Set<OpenWatch>();

  constructor(store: Store, rest: Rest, options: WatchOptions) {
    this.#store = store;
    this.#rest = rest;
    this.#options = options;
  }

  get openCount(): number {
    return this.#open.size;
  }

  /** Ends open watches (all, or one resource's); `abrupt` resets the connection instead of ending the stream. */
  drop(abrupt = false, resource?: string): number {
    let n = 0;
    for (const w of [...this.#open]) {
      if (resource && w.target.rt.resource !== resource) continue;
      w.end(abrupt);
      n++;
    }
    return n;
  }

  /** Stalls open watches (all, or one resource's); see `OpenWatch.stall`. */
  stall(resource?: string): number {
    let n = 0;
    for (const w of [...this.#open]) {
      if (resource && w.target.rt.resource !== resource) continue;
      w.stall();
      n++;
    }
    return n;
  }

  /**
   * Serves one watch. Throws (before any byte is written) for a bad selector, so the caller can
   * answer with a Status; afterwards, every problem travels as an ERROR event.
   */
  serve(
    t: Target,
    req: IncomingMessage,
    res: ServerResponse,
    options: { expire?: { keepOpen: boolean } } = {},
  ): void {
    const { rt, query } = t;
    const key = storageKeyOf(rt);
    const matches = this.#rest.matcher(t);
    const passes = (obj: KObject) =>
      (t.namespace === undefined || obj.metadata.namespace === t.namespace) &&
      (t.name === undefined || obj.metadata.name === t.name) &&
      matches(obj);
    const rvParam = query.get('resourceVersion') ?? '';
    const fromRv = rvParam === '' || rvParam === '0' ? undefined : Number(rvParam);
    const allowBookmarks = query.get('allowWatchBookmarks') === 'true';
    const timeoutSeconds = Number(query.get('timeoutSeconds') ?? 0);

    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
      'Transfer-Encoding': 'chunked',
    });
    res.flushHeaders();
    const asTable = wantsTable(req.headers.accept);
    const send = (type: string, object: unknown) => {
      if (res.writableEnded) return;
      const wire =
        asTable && type !== 'ERROR' && type !== 'BOOKMARK' ? toTable(rt, object) : object;
      res.write(`${JSON.stringify({ type, object: wire })}\n`);
    };
    const bookmark = (annotations?: Record<string, string>) =>
      send('BOOKMARK', {
        kind: rt.kind,
        apiVersion: apiVersionOf(rt),
        metadata: {
          resourceVersion: String(this.#store.resourceVersion),
          ...(annotations ? { annotations } : {}),
        },
      });

    const timers: NodeJS.Timeout[] = [];
    let unsubscribe = () => {};
    const watch: OpenWatch = {
      target: t,
      end: (abrupt) => {
        cleanup();
        if (abrupt) res.socket?.destroy();
        else res.end();
      },
      stall: () => cleanup(),
    };
    const cleanup = () => {
      unsubscribe();
      for (const timer of timers) clearTimeout(timer);
      this.#open.delete(watch);
    };
    // The response's close covers both ends: the stream finished, or the client went away.
    res.on('close', cleanup);

    const expire = options.expire;
    const replay =
      fromRv === undefined || Number.isNaN(fromRv)
        ? undefined
        : this.#store.eventsSince(key, fromRv);
    if (expire || (fromRv !== undefined && !replay)) {
      send(
        'ERROR',
        expired(`too old resource version: ${rvParam || '0'} (${this.#store.horizon(key)})`).status,
      );
      if (expire?.keepOpen) this.#open.add(watch);
      else res.end();
      return;
    }

    const deliver = (e: StoreEvent) => {
      const now = e.type !== 'DELETED' && passes(e.object);
      const before = e.prev !== undefined && passes(e.prev);
      if (e.type === 'DELETED') {
        if (before) send('DELETED', present(rt, e.object));
      } else if (now && (e.type === 'ADDED' || !before)) {
        send('ADDED', present(rt, e.object));
      } else if (now) {
        send('MODIFIED', present(rt, e.object));
      } else if (before) {
        // Left the selection: a DELETED carrying the last state it matched in.
        const last = structuredClone(e.prev!);
        last.metadata.resourceVersion = String(e.rv);
        send('DELETED', present(rt, last));
      }
    };

    if (replay) {
      for (const e of replay) deliver(e);
    } else {
      for (const obj of this.#store.list(key, t.namespace))
        if (passes(obj)) send('ADDED', present(rt, obj));
      if (allowBookmarks && query.get('sendInitialEvents') === 'true')
        bookmark({ 'k8s.io/initial-events-end': 'true' });
    }
    unsubscribe = this.#store.subscribe(key, deliver);
    this.#open.add(watch);

    if (allowBookmarks && this.#options.bookmarkIntervalMs > 0) {
      const every = () => {
        bookmark();
        timers.push(setTimeout(every, this.#options.bookmarkIntervalMs).unref());
      };
      timers.push(setTimeout(every, this.#options.bookmarkIntervalMs).unref());
    }
    // As the watch cache does: one bookmark just before the watch's own deadline.
    if (allowBookmarks && timeoutSeconds > 2)
      timers.push(setTimeout(() => bookmark(), (timeoutSeconds - 2) * 1000).unref());
    if (timeoutSeconds > 0)
      timers.push(setTimeout(() => watch.end(false), timeoutSeconds * 1000).unref());
  }
}
