/**
 * The skip-cache of the sync, like upstream's serviceCache: what each Service's load balancer was
 * last made to match, so a resync or a node change whose inputs are unchanged makes no cloud call.
 * It only ever saves calls: an entry missing (never applied, forgotten, or mid-apply) means the
 * next sync asks the provider in full, which is always correct.
 */
import type { V1LoadBalancerIngress } from '@kubernetes/client-node';

/** One successful ensure (and the host updates since), as the cloud was left by it. */
export interface AppliedState {
  readonly uid: string;
  readonly serviceFingerprint: string;
  readonly nodesFingerprint: string;
  /** What the provider answered, as written to the status. */
  readonly ingress: readonly V1LoadBalancerIngress[];
  /** The resourceVersion our status write produced. */
  readonly statusVersion: string | undefined;
}

/** Returned by `startApply`, handed back to `finishApply`. */
export interface ApplyTicket {
  readonly key: string;
  readonly epoch: number;
}

export class AppliedCache {
  readonly #entries = new Map<string, AppliedState>();
  /** Bumped by `forgetAll`, so an apply that began before it records nothing. */
  #epoch = 0;

  /** What `key` was last made to match, if it is still this Service (UID) with this spec. */
  matching(
    key: string,
    uid: string | undefined,
    serviceFingerprint: string,
  ): AppliedState | undefined {
    const entry = this.#entries.get(key);
    return entry?.uid === uid && entry?.serviceFingerprint === serviceFingerprint
      ? entry
      : undefined;
  }

  /**
   * The cloud is about to be changed for `key`: forget what it matched, since a failed attempt may
   * leave it part-way, and a spec changed back to the last applied one must not pass for unchanged.
   */
  startApply(key: string): ApplyTicket {
    this.#entries.delete(key);
    return { key, epoch: this.#epoch };
  }

  /** The apply succeeded; recorded only if no `forgetAll` came while it ran. */
  finishApply(ticket: ApplyTicket, state: AppliedState): void {
    if (ticket.epoch === this.#epoch) this.#entries.set(ticket.key, state);
  }

  /** The hosts of `from`'s load balancer now match `nodesFingerprint`, unless forgotten meanwhile. */
  hostsUpdated(key: string, from: AppliedState, nodesFingerprint: string): void {
    if (this.#entries.get(key) === from) this.#entries.set(key, { ...from, nodesFingerprint });
  }

  forget(key: string): void {
    this.#entries.delete(key);
  }

  /** Every Service's next sync asks the provider again: drift made out of band gets repaired. */
  forgetAll(): void {
    this.#epoch++;
    this.#entries.clear();
  }
}
