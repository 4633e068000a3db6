/**
 * Services: v1 defaulting, the type-dependent field wiping and allocated-value carry-over of
 * `pkg/registry/core/service` (strategy.go, storage/storage.go), and ClusterIP / NodePort /
 * health-check-node-port allocation with release on type change and delete (storage/alloc.go).
 * Services carry no metadata.generation: the real registry never sets one for them.
 */
import { internalError, invalid, type FieldError } from '../errors.js';
import { AllocationError, type IPAllocator, type PortAllocator } from '../allocators.js';
import { metaFields, type Allocation, type KObject, type Strategy } from '../types.js';
import {
  hasSelector,
  isHeadless,
  needsHealthCheck,
  needsNodePorts,
  validateService,
  validateServiceStatus,
  validateServiceUpdate,
} from './service-validation.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
const SERVICE_KIND = { group: '', kind: 'Service' };

/** SetDefaults_Service (k8s.io/kubernetes/pkg/apis/core/v1/defaults.go), as of 1.32. */
export function defaultService(svc: KObject): void {
  const spec = (svc.spec ??= {});
  spec.type ||= 'ClusterIP';
  spec.sessionAffinity ||= 'None';
  if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
  if (
    spec.sessionAffinity === 'ClientIP' &&
    !spec.sessionAffinityConfig?.clientIP?.timeoutSeconds
  ) {
    spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10800 } };
  }
  for (const p of spec.ports ?? []) {
    p.protocol ||= 'TCP';
    if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '')
      p.targetPort = p.port;
  }
  if (needsNodePorts(svc) && !spec.externalTrafficPolicy) spec.externalTrafficPolicy = 'Cluster';
  if (spec.type !== 'ExternalName' && !spec.internalTrafficPolicy)
    spec.internalTrafficPolicy = 'Cluster';
  if (
    spec.type === 'LoadBalancer' &&
    (spec.allocateLoadBalancerNodePorts === undefined ||
      spec.allocateLoadBalancerNodePorts === null)
  ) {
    spec.allocateLoadBalancerNodePorts = true;
  }
  svc.status ??= {};
  svc.status.loadBalancer ??= {};
  if (spec.type === 'LoadBalancer') {
    for (const ing of svc.status.loadBalancer.ingress ?? [])
      if (ing.ip && !ing.ipMode) ing.ipMode = 'VIP';
  }
}

const nodePortsOf = (svc: KObject): number[] => [
  ...new Set<number>((svc.spec?.ports ?? []).map((p: any) => p.nodePort).filter(Boolean)),
];
const sameStrings = (a: unknown[] = [], b: unknown[] = []) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** normalizeClusterIPs: keep the singular and plural fields in step. */
function normalizeClusterIPs(svc: KObject, old?: KObject): void {
  const spec = svc.spec;
  if (!old) {
    if (spec.clusterIP && !spec.clusterIPs?.length) spec.clusterIPs = [spec.clusterIP];
    return;
  }
  if (
    old.spec.clusterIPs?.length &&
    !spec.clusterIPs?.length &&
    old.spec.clusterIP === spec.clusterIP
  )
    spec.clusterIPs = old.spec.clusterIPs;
  if (old.spec.clusterIP !== spec.clusterIP && sameStrings(old.spec.clusterIPs, spec.clusterIPs)) {
    if (old.spec.clusterIP && !spec.clusterIP) delete spec.clusterIPs;
    else spec.clusterIPs = [spec.clusterIP];
  }
}

/** patchAllocatedValues: a client that resubmits its YAML without the allocated values keeps them. */
function patchAllocatedValues(svc: KObject, old: KObject): void {
  const spec = svc.spec;
  if (old.spec.type !== 'ExternalName' && spec.type !== 'ExternalName') {
    if (!spec.clusterIP) spec.clusterIP = old.spec.clusterIP;
    if (!spec.clusterIPs?.length && old.spec.clusterIPs?.length)
      spec.clusterIPs = old.spec.clusterIPs;
  }
  if (needsNodePorts(old) && needsNodePorts(svc)) {
    const newPorts = new Set(nodePortsOf(svc));
    const used = new Set(nodePortsOf(old).filter((p) => newPorts.has(p)));
    const byName = new Map<string, number>(
      (old.spec.ports ?? []).map((p: any) => [p.name ?? '', p.nodePort]),
    );
    for (const p of spec.ports ?? []) {
      const oldValue = byName.get(p.name ?? '');
      if (!p.nodePort && oldValue && !used.has(oldValue)) p.nodePort = oldValue;
    }
  }
  if (needsHealthCheck(old) && needsHealthCheck(svc) && !spec.healthCheckNodePort) {
    spec.healthCheckNodePort = old.spec.healthCheckNodePort;
  }
}

/** dropTypeDependentFields: a type change wipes what the new type cannot use, unless the user changed it too. */
function dropTypeDependentFields(svc: KObject, old: KObject): void {
  const spec = svc.spec;
  if (old.spec.type !== 'ExternalName' && spec.type === 'ExternalName') {
    if (
      old.spec.clusterIP === spec.clusterIP &&
      sameStrings(old.spec.clusterIPs, spec.clusterIPs)
    ) {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    }
    if (sameStrings(old.spec.ipFamilies, spec.ipFamilies)) delete spec.ipFamilies;
    if (old.spec.ipFamilyPolicy === spec.ipFamilyPolicy) delete spec.ipFamilyPolicy;
  }
  if (needsNodePorts(old) && !needsNodePorts(svc)) {
    const oldPorts = new Set(nodePortsOf(old));
    if (nodePortsOf(svc).every((p) => oldPorts.has(p)))
      for (const p of spec.ports ?? []) delete p.nodePort;
  }
  if (
    needsHealthCheck(old) &&
    !needsHealthCheck(svc) &&
    old.spec.healthCheckNodePort === spec.healthCheckNodePort
  ) {
    delete spec.healthCheckNodePort;
  }
  if (old.spec.type === 'LoadBalancer' && spec.type !== 'LoadBalancer') {
    if (old.spec.allocateLoadBalancerNodePorts === spec.allocateLoadBalancerNodePorts)
      delete spec.allocateLoadBalancerNodePorts;
    if ((old.spec.loadBalancerClass ?? null) === (spec.loadBalancerClass ?? null))
      delete spec.loadBalancerClass;
  }
  const wasExternal =
    needsNodePorts(old) || (old.spec.type === 'ClusterIP' && old.spec.externalIPs?.length);
  const isExternal = needsNodePorts(svc) || (spec.type === 'ClusterIP' && spec.externalIPs?.length);
  if (wasExternal && !isExternal && old.spec.externalTrafficPolicy === spec.externalTrafficPolicy)
    delete spec.externalTrafficPolicy;
  if (spec.type !== 'LoadBalancer') svc.status = { ...svc.status, loadBalancer: {} };
}

/** initIPFamilyFields for a single-stack IPv4 cluster. */
function initIPFamilies(svc: KObject, old?: KObject): void {
  const spec = svc.spec;
  if (spec.type === 'ExternalName') return;
  if (!spec.ipFamilyPolicy) {
    if (old?.spec.ipFamilyPolicy) spec.ipFamilyPolicy = old.spec.ipFamilyPolicy;
    else
      spec.ipFamilyPolicy =
        isHeadless(svc) && !hasSelector(svc) ? 'RequireDualStack' : 'SingleStack';
  }
  if (!spec.ipFamilies?.length) spec.ipFamilies = ['IPv4'];
  if (
    isHeadless(svc) &&
    !hasSelector(svc) &&
    spec.ipFamilyPolicy !== 'SingleStack' &&
    spec.ipFamilies.length < 2
  ) {
    spec.ipFamilies = [...spec.ipFamilies, spec.ipFamilies[0] === 'IPv4' ? 'IPv6' : 'IPv4'];
  }
}

const fieldInvalid = (svc: KObject, errs: FieldError[]) =>
  invalid(SERVICE_KIND, svc.metadata.name ?? '', errs);

/** Claims made for one request: kept on commit, handed back on revert. */
class Claims implements Allocation {
  readonly #ports: PortAllocator;
  readonly #ips: IPAllocator;
  readonly #claimedPorts: number[] = [];
  readonly #claimedIPs: string[] = [];
  readonly releasePorts: number[] = [];
  readonly releaseIPs: string[] = [];

  constructor(ports: PortAllocator, ips: IPAllocator) {
    this.#ports = ports;
    this.#ips = ips;
  }

  port(svc: KObject, field: string, port: number): void {
    try {
      this.#ports.allocate(port);
      this.#claimedPorts.push(port);
    } catch (err) {
      if (err instanceof AllocationError)
        throw fieldInvalid(svc, [
          { type: 'FieldValueInvalid', field, value: port, detail: err.message },
        ]);
      throw err;
    }
  }

  nextPort(): number {
    try {
      const port = this.#ports.allocateNext();
      this.#claimedPorts.push(port);
      return port;
    } catch (err) {
      throw internalError(`failed to allocate a nodePort: ${(err as Error).message}`);
    }
  }

  healthCheckPort(svc: KObject): void {
    const wanted = svc.spec.healthCheckNodePort;
    if (!wanted) {
      svc.spec.healthCheckNodePort = this.nextPort();
      return;
    }
    try {
      this.#ports.allocate(wanted);
      this.#claimedPorts.push(wanted);
    } catch (err) {
      throw internalError(
        `failed to allocate requested HealthCheck NodePort ${wanted}: ${(err as Error).message}`,
      );
    }
  }

  clusterIP(svc: KObject): void {
    const spec = svc.spec;
    if (spec.type === 'ExternalName' || isHeadless(svc)) {
      if (isHeadless(svc)) spec.clusterIPs = ['None'];
      return;
    }
    if (!spec.clusterIP) {
      try {
        spec.clusterIP = this.#ips.allocateNext();
      } catch (err) {
        throw internalError(`failed to allocate a serviceIP: ${(err as Error).message}`);
      }
    } else {
      try {
        this.#ips.allocate(spec.clusterIP);
      } catch (err) {
        const detail = `failed to allocate IP ${spec.clusterIP}: ${(err as Error).message}`;
        throw fieldInvalid(svc, [
          { type: 'FieldValueInvalid', field: 'spec.clusterIPs', value: [spec.clusterIP], detail },
        ]);
      }
    }
    this.#claimedIPs.push(spec.clusterIP);
    spec.clusterIPs = [spec.clusterIP];
  }

  commit(): void {
    for (const p of this.releasePorts) this.#ports.release(p);
    for (const ip of this.releaseIPs) this.#ips.release(ip);
  }

  revert(): void {
    for (const p of this.#claimedPorts) this.#ports.release(p);
    for (const ip of this.#claimedIPs) this.#ips.release(ip);
  }
}

const shouldAllocateNodePorts = (svc: KObject) =>
  svc.spec.type === 'NodePort' || svc.spec.allocateLoadBalancerNodePorts !== false;

/** initNodePorts / updateNodePorts: ports sharing a number (TCP and UDP 53) share a node port. */
function claimNodePorts(svc: KObject, claims: Claims, kept: Set<number>): void {
  const byServicePort = new Map<number, number>();
  (svc.spec.ports ?? []).forEach((p: any, i: number) => {
    if (!p.nodePort && !shouldAllocateNodePorts(svc)) return;
    const shared = byServicePort.get(p.port);
    if (!p.nodePort && shared) {
      p.nodePort = shared;
    } else if (p.nodePort) {
      if (!kept.has(p.nodePort)) {
        claims.port(svc, `spec.ports[${i}].nodePort`, p.nodePort);
        kept.add(p.nodePort);
      }
    } else {
      p.nodePort = claims.nextPort();
      kept.add(p.nodePort);
    }
    byServicePort.set(p.port, p.nodePort);
  });
}

export function serviceStrategy(ports: PortAllocator, ips: IPAllocator): Strategy {
  return {
    allowCreateOnUpdate: true,
    allowUnconditionalUpdate: true,
    defaults: defaultService,
    prepareForCreate(svc) {
      svc.status = { loadBalancer: {} };
      normalizeClusterIPs(svc);
    },
    prepareForUpdate(svc, old) {
      svc.status = old.status;
      patchAllocatedValues(svc, old);
      normalizeClusterIPs(svc, old);
      dropTypeDependentFields(svc, old);
    },
    prepareForStatusUpdate(svc, old) {
      svc.spec = old.spec;
    },
    validate: validateService,
    validateUpdate: validateServiceUpdate,
    validateStatusUpdate: validateServiceStatus,
    allocateCreate(svc) {
      const claims = new Claims(ports, ips);
      try {
        initIPFamilies(svc);
        claims.clusterIP(svc);
        if (needsNodePorts(svc)) claimNodePorts(svc, claims, new Set());
        if (needsHealthCheck(svc)) claims.healthCheckPort(svc);
      } catch (err) {
        claims.revert();
        throw err;
      }
      return claims;
    },
    allocateUpdate(svc, old) {
      const claims = new Claims(ports, ips);
      try {
        initIPFamilies(svc, old);
        if (old.spec.type === 'ExternalName' && svc.spec.type !== 'ExternalName')
          claims.clusterIP(svc);
        if (
          old.spec.type !== 'ExternalName' &&
          svc.spec.type === 'ExternalName' &&
          old.spec.clusterIP &&
          old.spec.clusterIP !== 'None'
        ) {
          claims.releaseIPs.push(old.spec.clusterIP);
        }
        const oldPorts = needsNodePorts(old) ? nodePortsOf(old) : [];
        if (needsNodePorts(svc)) claimNodePorts(svc, claims, new Set(oldPorts));
        const newPorts = new Set(needsNodePorts(svc) ? nodePortsOf(svc) : []);
        claims.releasePorts.push(...oldPorts.filter((p) => !newPorts.has(p)));
        if (!needsHealthCheck(old) && needsHealthCheck(svc)) claims.healthCheckPort(svc);
        if (needsHealthCheck(old) && !needsHealthCheck(svc) && old.spec.healthCheckNodePort) {
          claims.releasePorts.push(old.spec.healthCheckNodePort);
        }
      } catch (err) {
        claims.revert();
        throw err;
      }
      return claims;
    },
    release(svc) {
      if (svc.spec?.clusterIP && svc.spec.clusterIP !== 'None') ips.release(svc.spec.clusterIP);
      for (const p of nodePortsOf(svc)) ports.release(p);
      if (needsHealthCheck(svc) && svc.spec.healthCheckNodePort)
        ports.release(svc.spec.healthCheckNodePort);
    },
    selectableFields: (svc) => ({
      ...metaFields(svc, true),
      'spec.clusterIP': svc.spec?.clusterIP ?? '',
      'spec.type': svc.spec?.type ?? '',
    }),
  };
}
