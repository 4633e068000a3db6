/**
 * Which Services kube-lbc made (or began to make) a load balancer for, each with the Service as
 * last seen. The finalizer's name is shared by every service controller and a Service's class
 * goes with a type change, so this record is what says a load balancer is ours to delete; and
 * the copy is what deletes it when the Service vanishes with our finalizer stripped by hand.
 */
import type { V1Service } from '@kubernetes/client-node';

export class MadeByUs {
  /** By Service key; the copy's UID says which Service of that name it was. */
  readonly #services = new Map<string, V1Service>();

  /** Whether we made a load balancer for this Service (this UID, not an earlier one of its name). */
  has(key: string, svc: Readonly<V1Service>): boolean {
    const uid = svc.metadata?.uid;
    return uid !== undefined && this.#services.get(key)?.metadata?.uid === uid;
  }

  /** Records `svc` as ours; a record already there for its UID is kept. */
  record(key: string, svc: V1Service): void {
    if (!svc.metadata?.uid || this.has(key, svc)) return;
    this.#services.set(key, svc);
  }

  /** Keeps the newest copy of a Service already recorded, to delete its load balancer with. */
  update(key: string, svc: V1Service): void {
    if (this.has(key, svc)) this.#services.set(key, svc);
  }

  /** The Service to delete the load balancer with, once the Service itself is gone. */
  service(key: string): V1Service | undefined {
    return this.#services.get(key);
  }

  forget(key: string): void {
    this.#services.delete(key);
  }
}
