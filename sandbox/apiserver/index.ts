/**
 * A Kubernetes API server for tests and `kube-lbc sandbox`: the real `@kubernetes/client-node`
 * and `kubectl` talk to it as to kube-apiserver, for everything kube-lbc touches (Services and
 * their /status, Nodes, Namespaces, Events in both groups, Leases, EndpointSlices). See the
 * module files for the behaviour each part copies; `test/contract` holds it to a real server.
 *
 *   const api = await startApiServer();
 *   const core = api.kubeConfig().makeApiClient(CoreV1Api);
 *   ...
 *   await api.close();
 *
 * It behaves as a current (1.32) server. Where Kubernetes 1.20 differs, the contract cases say
 * so in their skip reasons: no ipMode, loadBalancerClass or discovery.k8s.io/v1; a type change
 * away from LoadBalancer keeps the stale status; a PUT does not create a Service and a delete
 * answers with a Status; only metadata.name/namespace select Services by field.
 *
 * Not emulated, knowingly: authentication and RBAC (the audit log records what a client would
 * need instead), admission beyond NamespaceLifecycle and TaintNodesByCondition, managedFields
 * and apply conflicts (server-side apply is simplified: see apply.ts), dropping unknown fields,
 * protobuf beyond the v1 Namespace and Service bodies kubectl's typed writes send (protobuf.ts),
 * garbage collection (propagationPolicy is ignored), IPv6 and dual-stack, and list snapshots
 * for `continue`.
 */
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { noopLogger, type Logger } from '../../contract/logger.js';
import { IPAllocator, PortAllocator } from './allocators.js';
import { Faults, type AuditRecord } from './faults.js';
import { kubeConfigFor, kubeconfigYamlFor } from './kubeconfig.js';
import { INITIAL_NAMESPACES, NamespaceLifecycle } from './namespaces.js';
import { createRegistry } from './registry.js';
import { Rest } from './rest.js';
import { createHandler } from './server.js';
import { Store } from './store.js';
import type { ResourceType } from './types.js';
import { WatchHub } from './watch.js';

export type { AuditRecord, FaultReply, Faults, RequestMatch } from './faults.js';
export type { KObject, Verb } from './types.js';
export { EMULATED_VERSION } from './discovery.js';

export interface ApiServerOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /** @default 0 (ephemeral) */
  port?: number;
  /** @default { min: 30000, max: 32767 } */
  nodePortRange?: { min: number; max: number };
  /** IPv4 only. @default '10.96.0.0/12' */
  serviceCIDR?: string;
  /** Events kept per resource for watches that resume from a version; older ones get 410. @default 100 (the real watch cache's default) */
  watchWindow?: number;
  /** How often a watch that allowed bookmarks gets one. @default 60000 */
  bookmarkIntervalMs?: number;
  /**
   * How long after a namespace DELETE (or after its last content goes) the namespace controller
   * acts: a deleted namespace stays Terminating at least this long. @default 200
   */
  namespaceSyncDelayMs?: number;
  /** @default noopLogger */
  logger?: Logger;
}

export interface ApiServer {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** A client-node KubeConfig for this server (plain HTTP, skipTLSVerify). */
  kubeConfig(): KubeConfig;
  /** The same for `kubectl --kubeconfig`. */
  kubeconfigYaml(): string;
  readonly faults: Faults;
  /** Every resource request, in arrival order: what an RBAC role for the client needs to allow. */
  readonly audit: readonly AuditRecord[];
  /** Ends watches and the server. */
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function seed(rest: Rest, registry: ResourceType[], firstIP: string): void {
  const rt = (resource: string) => registry.find((r) => r.group === '' && r.resource === resource)!;
  const query = new URLSearchParams();
  for (const name of INITIAL_NAMESPACES)
    rest.create({ rt: rt('namespaces'), query }, { metadata: { name } });
  rest.create(
    { rt: rt('services'), namespace: 'default', query },
    {
      metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: {
        type: 'ClusterIP',
        clusterIP: firstIP,
        ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }],
      },
    },
  );
}

export async function startApiServer(options: ApiServerOptions = {}): Promise<ApiServer> {
  const host = options.host ?? '127.0.0.1';
  const logger = (options.logger ?? noopLogger).child({ component: 'apiserver-emulator' });
  const ports = new PortAllocator(options.nodePortRange ?? { min: 30000, max: 32767 });
  const ips = new IPAllocator(options.serviceCIDR ?? '10.96.0.0/12');
  const store = new Store(options.watchWindow ?? 100);
  const registry = createRegistry(ports, ips);
  const rest: Rest = new Rest(store, () => namespaces);
  const namespaces = new NamespaceLifecycle(
    store,
    () => registry.filter((r) => r.namespaced),
    (rt, obj) => rest.deleteObject(rt, obj),
    options.namespaceSyncDelayMs ?? 200,
  );
  const watches = new WatchHub(store, rest, {
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000,
  });
  seed(rest, registry, ips.first);

  const audit: AuditRecord[] = [];
  let port = options.port ?? 0;
  let closed = false;
  const sockets = new Set<Socket>();
  const faults = new Faults({
    dropWatches: (abrupt, resource) => watches.drop(abrupt, resource),
    stallWatches: (resource) => watches.stall(resource),
    refuseConnections: async (ms) => {
      await stopListening();
      await sleep(ms);
      if (!closed) await listen();
    },
  });
  const handler = createHandler({
    registry,
    rest,
    watches,
    faults,
    audit,
    logger,
    address: () => `${host}:${port}`,
  });
  const server: Server = createServer((req, res) => void handler(req, res));
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  function listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const address = server.address();
        if (address && typeof address === 'object') port = address.port;
        resolve();
      });
    });
  }

  function stopListening(): Promise<void> {
    return new Promise((resolve) => {
      if (!server.listening) return resolve();
      watches.drop(true);
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  }

  await listen();
  const url = `http://${host}:${port}`;
  logger.info({ url }, 'API emulator listening');
  return {
    url,
    kubeConfig: () => kubeConfigFor(url),
    kubeconfigYaml: () => kubeconfigYamlFor(url),
    faults,
    audit,
    async close() {
      closed = true;
      namespaces.close();
      watches.drop(false);
      await stopListening();
    },
  };
}
