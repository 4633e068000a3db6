/**
 * What a scheduler sees and decides. Schedulers are pure choosers: the balancer owns the backend
 * set, counts connections and tells them which backends may take new ones.
 */

export interface BackendView {
  /** `host:port`; stable across updates, so a hash table survives unrelated changes. */
  readonly id: string;
  readonly weight: number;
  /** Connections (TCP) or flows (UDP) open through this backend right now. */
  readonly activeConnections: number;
  /** Healthy and weight above zero: may take a new connection. */
  readonly available: boolean;
}

export interface PickContext {
  /** The client's address (no port): what sh hashes. */
  readonly clientAddress: string;
  /** The virtual address the client connected to: what dh hashes. */
  readonly destinationAddress: string;
}

export interface Scheduler {
  /**
   * Chooses a backend for one new connection, or `undefined` if none may take it. `backends` is
   * the whole set in a stable order, unavailable ones included.
   */
  pick(backends: readonly BackendView[], ctx: PickContext): BackendView | undefined;
}

export interface SchedulerOptions {
  /** In [0, 1); breaks ties. @default Math.random */
  random?: () => number;
}
