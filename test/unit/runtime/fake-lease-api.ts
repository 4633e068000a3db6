/**
 * An in-memory Lease store with the API server's optimistic concurrency (409 on a stale
 * resourceVersion), and switches to fail or hang every call, for leader-election tests.
 */
import { ApiException, type V1Lease } from '@kubernetes/client-node';
import type { LeaseApi } from '../../../runtime/lease-lock.js';

export class FakeLeaseApi implements LeaseApi {
  #lease: V1Lease | undefined;
  #rv = 0;
  /** Every call fails with a 500. */
  failing = false;
  /** Every call never answers. */
  hanging = false;
  /** Writes take effect but their answers wait until `answerHeld()`: a slow network. */
  holdingAnswers = false;
  readonly calls: string[] = [];
  #held: (() => void)[] = [];

  answerHeld(): void {
    for (const answer of this.#held.splice(0)) answer();
  }

  get lease(): V1Lease | undefined {
    return this.#lease && structuredClone(this.#lease);
  }

  /** Changes the stored Lease in place, as another writer would, without a new resourceVersion. */
  edit(fn: (lease: V1Lease) => void): void {
    if (this.#lease) fn(this.#lease);
  }

  /** Another writer touches the Lease (a label, say): its resourceVersion moves on. */
  touch(): void {
    if (this.#lease) this.#lease.metadata!.resourceVersion = String(++this.#rv);
  }

  readNamespacedLease = async (): Promise<V1Lease> => {
    await this.#gate('read');
    if (!this.#lease) throw apiError(404, 'NotFound');
    return structuredClone(this.#lease);
  };

  createNamespacedLease = async (param: { body: V1Lease }): Promise<V1Lease> => {
    await this.#gate('create');
    if (this.#lease) throw apiError(409, 'AlreadyExists');
    this.#lease = this.#store(param.body);
    return structuredClone(this.#lease);
  };

  replaceNamespacedLease = async (param: { body: V1Lease }): Promise<V1Lease> => {
    await this.#gate('replace');
    if (!this.#lease) throw apiError(404, 'NotFound');
    if (param.body.metadata?.resourceVersion !== this.#lease.metadata?.resourceVersion) {
      throw apiError(409, 'Conflict');
    }
    this.#lease = this.#store(param.body);
    const answer = structuredClone(this.#lease);
    if (this.holdingAnswers) await new Promise<void>((resolve) => this.#held.push(resolve));
    return answer;
  };

  /** Stores what the wire would carry: JSON, so times become strings as they do for real. */
  #store(body: V1Lease): V1Lease {
    const lease = JSON.parse(JSON.stringify(body)) as V1Lease;
    lease.metadata = { ...lease.metadata, resourceVersion: String(++this.#rv) };
    return lease;
  }

  async #gate(call: string): Promise<void> {
    this.calls.push(call);
    if (this.hanging) await new Promise(() => {});
    if (this.failing) throw apiError(500, 'InternalError');
  }
}

function apiError(code: number, reason: string): ApiException<unknown> {
  return new ApiException(code, reason, { kind: 'Status', reason, code }, {});
}
