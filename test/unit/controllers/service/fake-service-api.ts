/**
 * An in-memory Service store for `ServiceSyncer`: the two writes it makes (`ServiceWriteApi`) and
 * the cache it reads, kept in step as an informer that has caught up would be. Each write is
 * recorded as a short label ('add finalizer', 'status Ready 192.0.2.10', ...) for a table to
 * compare, the way upstream's tests read the fake clientset's actions.
 */
import {
  ApiException,
  type CoreV1ApiPatchNamespacedServiceRequest,
  type CoreV1ApiPatchNamespacedServiceStatusRequest,
  type V1Condition,
  type V1Service,
} from '@kubernetes/client-node';
import type { ServiceWriteApi } from '../../../../controllers/service/status.js';
import { LOAD_BALANCER_CLEANUP_FINALIZER } from '../../../../controllers/service/predicates.js';
import { LOAD_BALANCER_READY_CONDITION } from '../../../../controllers/service/status.js';

type ConditionPatch = V1Condition & { $patch?: 'delete' };

export class FakeServiceApi implements ServiceWriteApi {
  /** Every write, in order. */
  readonly writes: string[] = [];
  readonly #services = new Map<string, V1Service>();
  #resourceVersion = 1;

  /** What a user's create or update leaves: finalizers and status kept unless `svc` sets them. */
  put(svc: V1Service): void {
    const key = keyOf(svc.metadata?.namespace, svc.metadata?.name);
    const stored = this.#services.get(key);
    const next = structuredClone(svc);
    next.metadata!.finalizers ??= stored?.metadata?.finalizers;
    next.status = stored?.status ?? next.status;
    this.#store(key, next);
  }

  remove(key: string): void {
    this.#services.delete(key);
  }

  get(key: string): V1Service | undefined {
    return this.#services.get(key);
  }

  list(): V1Service[] {
    return [...this.#services.values()];
  }

  async patchNamespacedService(param: CoreV1ApiPatchNamespacedServiceRequest): Promise<V1Service> {
    const key = keyOf(param.namespace, param.name);
    const svc = structuredClone(this.#mustGet(key, param.body.metadata?.resourceVersion));
    const { metadata, spec } = param.body as V1Service;
    this.#patchFinalizers(svc, metadata);
    if (spec?.ports) {
      this.writes.push('allocate NodePorts');
      svc.spec!.ports = spec.ports;
    }
    return this.#store(key, svc);
  }

  async patchNamespacedServiceStatus(
    param: CoreV1ApiPatchNamespacedServiceStatusRequest,
  ): Promise<V1Service> {
    const key = keyOf(param.namespace, param.name);
    const { metadata, status } = param.body as V1Service;
    const svc = structuredClone(this.#mustGet(key, metadata?.resourceVersion));
    // As the real status strategy: metadata is written too, only the spec is left as it was.
    this.#patchFinalizers(svc, metadata);
    if (!status) return this.#store(key, svc);
    const { loadBalancer, conditions } = status;
    if (loadBalancer)
      svc.status = { ...svc.status, loadBalancer: loadBalancer.ingress ? loadBalancer : {} };
    for (const c of (conditions ?? []) as ConditionPatch[]) {
      const others = (svc.status?.conditions ?? []).filter((o) => o.type !== c.type);
      svc.status = { ...svc.status, conditions: c.$patch === 'delete' ? others : [...others, c] };
    }
    this.writes.push(statusLabel(svc));
    return this.#store(key, svc);
  }

  #patchFinalizers(svc: V1Service, metadata: V1Service['metadata']): void {
    if (metadata?.finalizers === undefined) return;
    const adding = (metadata.finalizers ?? []).includes(LOAD_BALANCER_CLEANUP_FINALIZER);
    this.writes.push(adding ? 'add finalizer' : 'remove finalizer');
    svc.metadata!.finalizers = metadata.finalizers ?? undefined;
  }

  #mustGet(key: string, resourceVersion?: string): V1Service {
    const svc = this.#services.get(key);
    if (!svc) throw new ApiException(404, `services "${key}" not found`, {}, {});
    if (resourceVersion !== undefined && resourceVersion !== svc.metadata?.resourceVersion) {
      throw new ApiException(409, `services "${key}": the object has been modified`, {}, {});
    }
    return svc;
  }

  /** Bumps the resourceVersion; a deleted Service whose last finalizer went is gone. */
  #store(key: string, svc: V1Service): V1Service {
    svc.metadata!.resourceVersion = String(++this.#resourceVersion);
    const released = svc.metadata?.deletionTimestamp != null && !svc.metadata.finalizers?.length;
    if (released) this.#services.delete(key);
    else this.#services.set(key, svc);
    return structuredClone(svc);
  }
}

/** `status Ready 192.0.2.10`, `status Invalid`, `status cleared`. */
function statusLabel(svc: V1Service): string {
  const ready = svc.status?.conditions?.find((c) => c.type === LOAD_BALANCER_READY_CONDITION);
  const ingress = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname);
  if (!ready && ingress.length === 0) return 'status cleared';
  return ['status', ready?.reason ?? 'no condition', ...ingress].join(' ');
}

function keyOf(namespace: string | undefined, name: string | undefined): string {
  return `${namespace}/${name}`;
}
