/**
 * The Services and Nodes the conformance kit hands to a provider. They are deep-frozen: the
 * contract says providers treat them as read-only (they are the informer's cache), and a frozen
 * object turns a forgotten copy into a TypeError instead of a silent cache corruption.
 */
import { randomUUID } from 'node:crypto';
import type { V1Node, V1Service, V1ServicePort } from '@kubernetes/client-node';

export const conformanceNamespace = 'conformance';

export const httpPort: V1ServicePort = {
  name: 'http',
  protocol: 'TCP',
  port: 80,
  targetPort: 8080 as never,
  nodePort: 30080,
};
export const httpsPort: V1ServicePort = {
  name: 'https',
  protocol: 'TCP',
  port: 443,
  targetPort: 8443 as never,
  nodePort: 30443,
};

/** A LoadBalancer Service with one TCP port and a fresh UID, before the author's tweak. */
export function plainService(name: string, namespace = conformanceNamespace): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, uid: randomUUID(), resourceVersion: '1', generation: 1 },
    spec: {
      type: 'LoadBalancer',
      selector: { app: name },
      ports: [{ ...httpPort }],
      externalTrafficPolicy: 'Cluster',
      sessionAffinity: 'None',
    },
    status: { loadBalancer: {} },
  };
}

/** A Ready node with an InternalIP in 127.0.0.0/8, before the author's tweak. */
export function plainNode(index: number): V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: `conformance-node-${index}`, uid: randomUUID(), labels: {} },
    spec: { providerID: `conformance:///node-${index}` },
    status: {
      addresses: [
        { type: 'InternalIP', address: `127.0.1.${index + 1}` },
        { type: 'Hostname', address: `conformance-node-${index}` },
      ],
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  };
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** A mutable deep copy of a frozen object, to derive a changed Service from. */
export function thaw<T>(value: Readonly<T>): T {
  return structuredClone(value) as T;
}
