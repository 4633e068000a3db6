/**
 * Records core/v1 Events on Services, like client-go's recorder: fire-and-forget (an Event must
 * never fail a sync), and repeats of the same Event within ten minutes bump its count instead of
 * creating a new object, as the EventCorrelator does.
 *
 * Writes go one at a time from a bounded backlog, as client-go's broadcaster sends them: a burst
 * of Services must not turn into a burst of Event writes competing at the API server with the
 * finalizer and status writes those Services wait on (measured: with four writers in flight, 200
 * Services converged 25% slower). When the backlog is full the newest Event is dropped, as
 * client-go drops it, and counted.
 */
import type { V1Service } from '@kubernetes/client-node';
// The two helpers alone, not the package's index: that loads the whole generated API.
import { setHeaderOptions } from '@kubernetes/client-node/dist/middleware.js';
import { PatchStrategy } from '@kubernetes/client-node/dist/patch.js';
import type { CoreCalls } from '../../runtime/kube-api.js';
import PQueue from 'p-queue';
import { noopLogger, type Logger } from '../../contract/logger.js';
import { boundMessage } from '../../contract/quote.js';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  record(svc: Readonly<V1Service>, type: EventType, reason: string, message: string): void;
}

const CORRELATION_WINDOW_MS = 10 * 60 * 1000;
/** client-go's maxQueuedEvents. */
const DEFAULT_MAX_QUEUED = 1000;
const MAX_REMEMBERED = 4096;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

interface Seen {
  name: string;
  namespace: string;
  count: number;
  firstAt: number;
}

/** The Event writes: a `KubeApi`, or client-node's `CoreV1Api`. */
export type EventWriteApi = Pick<CoreCalls, 'createNamespacedEvent' | 'patchNamespacedEvent'>;

export class ApiEventRecorder implements EventRecorder {
  readonly #api: EventWriteApi;
  readonly #component: string;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #seen = new Map<string, Seen>();
  readonly #writes: PQueue;
  readonly #maxQueued: number;
  readonly #onDrop: () => void;
  #dropping = false;

  constructor(
    api: EventWriteApi,
    options: {
      component?: string;
      logger?: Logger;
      now?: () => number;
      /** Events not yet written beyond which new ones are dropped. @default 1000 */
      maxQueued?: number;
      /** Called for every dropped Event (a metric). */
      onDrop?: () => void;
    } = {},
  ) {
    this.#writes = new PQueue({ concurrency: 1 });
    this.#maxQueued = options.maxQueued ?? DEFAULT_MAX_QUEUED;
    this.#onDrop = options.onDrop ?? (() => {});
    this.#api = api;
    this.#component = options.component ?? 'kube-lbc';
    this.#logger = options.logger ?? noopLogger;
    this.#now = options.now ?? Date.now;
  }

  record(svc: Readonly<V1Service>, type: EventType, reason: string, text: string): void {
    const message = boundMessage(text);
    if (this.#writes.size + this.#writes.pending >= this.#maxQueued) {
      this.#onDrop();
      // Once per episode, not per Event: a flood of warnings would make the overload worse.
      if (!this.#dropping)
        this.#logger.warn(
          { backlog: this.#maxQueued, reason },
          'event backlog full; dropping events',
        );
      this.#dropping = true;
      return;
    }
    this.#dropping = false;
    void this.#writes.add(() =>
      this.#write(svc, type, reason, message).catch((err) =>
        this.#logger.warn({ err: String(err), reason }, 'could not record event'),
      ),
    );
  }

  /** Resolves when every Event recorded so far has been written (tests, shutdown). */
  async flush(): Promise<void> {
    await this.#writes.onIdle();
  }

  async #write(
    svc: Readonly<V1Service>,
    type: EventType,
    reason: string,
    message: string,
  ): Promise<void> {
    const { name = '', namespace = 'default', uid = '', resourceVersion } = svc.metadata ?? {};
    const key = `${uid}\u0000${type}\u0000${reason}\u0000${message}`;
    const now = this.#now();
    const seen = this.#seen.get(key);
    if (seen && now - seen.firstAt < CORRELATION_WINDOW_MS) {
      seen.count++;
      const body = { count: seen.count, lastTimestamp: new Date(now).toISOString() };
      await this.#api.patchNamespacedEvent(
        { name: seen.name, namespace: seen.namespace, body },
        mergePatch,
      );
      return;
    }
    const eventName = `${name}.${(BigInt(now) * 1_000_000n + BigInt(this.#seen.size)).toString(16)}`;
    const at = new Date(now);
    await this.#api.createNamespacedEvent({
      namespace,
      body: {
        metadata: { name: eventName, namespace },
        involvedObject: {
          kind: 'Service',
          apiVersion: 'v1',
          name,
          namespace,
          uid,
          resourceVersion,
        },
        type,
        reason,
        message,
        count: 1,
        firstTimestamp: at,
        lastTimestamp: at,
        source: { component: this.#component },
        reportingComponent: this.#component,
      },
    });
    if (this.#seen.size >= MAX_REMEMBERED) this.#seen.delete(this.#seen.keys().next().value!);
    this.#seen.set(key, { name: eventName, namespace, count: 1, firstAt: now });
  }
}
