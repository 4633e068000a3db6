/**
 * client-go's LeaseLock: reads and writes the leader-election record on one Lease, keeping the
 * last version it saw so every write is guarded by that resourceVersion (a concurrent writer gets
 * a 409, never a silent overwrite).
 */
import type { CoordinationV1Api, V1Lease, V1LeaseSpec } from '@kubernetes/client-node';
import { isNotFound } from './api-errors.js';

/** The three Lease calls leader election makes; a `CoordinationV1Api` fits. */
export type LeaseApi = Pick<
  CoordinationV1Api,
  'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'
>;

export class LeaseLock {
  readonly #api: LeaseApi;
  readonly #namespace: string;
  readonly #name: string;
  #lease: V1Lease | undefined;

  constructor(api: LeaseApi, namespace: string, name: string) {
    this.#api = api;
    this.#namespace = namespace;
    this.#name = name;
  }

  /** True once a version of the Lease has been read or written. */
  get known(): boolean {
    return this.#lease !== undefined;
  }

  /** The record, or undefined when the Lease does not exist. */
  async get(): Promise<V1LeaseSpec | undefined> {
    try {
      this.#lease = await this.#api.readNamespacedLease({
        name: this.#name,
        namespace: this.#namespace,
      });
      return this.#lease.spec ?? {};
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async create(spec: V1LeaseSpec): Promise<V1LeaseSpec> {
    this.#lease = await this.#api.createNamespacedLease({
      namespace: this.#namespace,
      body: {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.#name, namespace: this.#namespace },
        spec,
      },
    });
    return this.#lease.spec ?? {};
  }

  /** Writes `spec` over the version last seen; a 409 means someone wrote since: `get` again. */
  async update(spec: V1LeaseSpec): Promise<V1LeaseSpec> {
    const lease = this.#lease;
    if (!lease) throw new Error(`lease ${this.#namespace}/${this.#name} has not been read yet`);
    this.#lease = await this.#api.replaceNamespacedLease({
      name: this.#name,
      namespace: this.#namespace,
      body: { ...lease, spec: { ...lease.spec, ...spec } },
    });
    return this.#lease.spec ?? {};
  }
}
