/**
 * Keeps the eligible node set and tells the controller when it really changed. Bursts of node
 * events (a scale-up, a rolling restart) are coalesced within a short window into one pass, and
 * events that leave every fingerprint alone (heartbeats, Ready flaps) trigger nothing at all.
 */
import type { V1Node } from '@kubernetes/client-node';
import { isEligibleNode } from '../../contract/nodes.js';
import { nodeSetFingerprint } from './predicates.js';

/** An eligible node set and its `nodeSetFingerprint`. */
export interface NodeSet {
  readonly nodes: readonly V1Node[];
  readonly fingerprint: string;
}

export interface NodeSyncOptions {
  readonly listNodes: () => readonly V1Node[];
  readonly needsProviderID: boolean;
  /** How long to gather node events before recomputing. @default 1000 */
  readonly windowMs?: number;
  /**
   * Called once per real change, with the new eligible set and when (performance.now()) the
   * first node event of the batch arrived.
   */
  readonly onChange: (nodes: readonly V1Node[], firstEventAt: number) => void;
}

export class NodeSync {
  readonly #options: NodeSyncOptions;
  #current: NodeSet = { nodes: [], fingerprint: '' };
  #timer: NodeJS.Timeout | undefined;
  #firstEventAt = 0;

  constructor(options: NodeSyncOptions) {
    this.#options = options;
  }

  /** The eligible nodes with their fingerprint, computed once per change for every sync to share. */
  get current(): NodeSet {
    return this.#current;
  }

  /** Computes the set now, without a change callback: call once the node cache is synced. */
  prime(): void {
    this.#recompute(false);
  }

  /** A node event: recompute once the window closes. */
  nodeEvent(): void {
    if (this.#timer) return;
    this.#firstEventAt = performance.now();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#recompute(true);
    }, this.#options.windowMs ?? 1000);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #recompute(notify: boolean): void {
    const eligible = this.#options
      .listNodes()
      .filter((n) => isEligibleNode(n, this.#options.needsProviderID))
      .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
    const fingerprint = nodeSetFingerprint(eligible);
    const changed = fingerprint !== this.#current.fingerprint;
    // Keep the newest objects even when nothing that matters changed.
    this.#current = { nodes: eligible, fingerprint };
    if (!changed) return;
    if (notify) this.#options.onChange(eligible, this.#firstEventAt);
  }
}
