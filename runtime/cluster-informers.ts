/**
 * The Service and Node caches every kube-lbc process keeps: the controller reconciles from them,
 * providers read them through the ClusterView, and the local provider's proxy agent serves from
 * them. One place, so all three list and watch the same way.
 */
import type { V1Node, V1Service } from '@kubernetes/client-node';
import type { ClusterView } from '../contract/provider.js';
import type { CoreCalls, Watcher } from './kube-api.js';
import { Informer, stripManagedFields } from './informer.js';
import { internServiceStrings } from './intern.js';
import { listInPages } from './paged-list.js';
import { noopLogger, type Logger } from '../contract/logger.js';

/**
 * Nodes are cached without `managedFields` and `status.images` (each node lists every image it
 * holds, often the larger part of the object): no controller or provider reads them, and at
 * 1,000 nodes they would be most of the node cache.
 */
function trimService(svc: V1Service): V1Service {
  return internServiceStrings(stripManagedFields(svc));
}

function stripNodeImages(node: V1Node): V1Node {
  stripManagedFields(node);
  if (node.status?.images) delete node.status.images;
  return node;
}

export class ClusterInformers {
  readonly services: Informer<V1Service>;
  readonly nodes: Informer<V1Node>;

  /** `api` lists and watches: a `KubeApi`. */
  constructor(
    api: Pick<CoreCalls, 'listServiceForAllNamespaces' | 'listNode'> & Watcher,
    logger: Logger = noopLogger,
  ) {
    const core = api;
    this.services = new Informer<V1Service>({
      watcher: api,
      name: 'services',
      path: '/api/v1/services',
      list: () => listInPages((page) => core.listServiceForAllNamespaces(page), trimService),
      transform: trimService,
      logger,
    });
    this.nodes = new Informer<V1Node>({
      watcher: api,
      name: 'nodes',
      path: '/api/v1/nodes',
      list: () => listInPages((page) => core.listNode(page), stripNodeImages),
      transform: stripNodeImages,
      logger,
    });
  }

  /** Resolves when both caches are synced. */
  async start(): Promise<void> {
    await Promise.all([this.services.start(), this.nodes.start()]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.services.stop(), this.nodes.stop()]);
  }

  get running(): boolean {
    return this.services.running && this.nodes.running;
  }

  view(): ClusterView {
    return { services: () => this.services.list(), nodes: () => this.nodes.list() };
  }
}
