/**
 * `kube-lbc proxy`: the agent that serves load-balancer addresses on edge nodes, for clusters
 * where the controller runs with `mode: controller` and only allocates addresses. It watches the
 * same Services and Nodes and serves every Service whose status carries a pool address, on the
 * same data path the in-process mode uses. Addresses are bound where the node holds them; the
 * agent retries binding on a timer, so it picks an address up once (say) keepalived moves it here.
 */
import type { ClusterAccess } from '../../runtime/cluster-access.js';
import { ClusterInformers } from '../../runtime/cluster-informers.js';
import { KubeApi } from '../../runtime/kube-api.js';
import type { HealthChecks } from '../../runtime/http-server.js';
import type { Logger } from '../../contract/logger.js';
import type { MetricFamily } from '../../contract/metrics.js';
import { AddressPool } from './address-pool.js';
import { desiredServices, reconcileDataPath } from './agent-sync.js';
import { parseLocalConfig } from './config.js';
import { DataPath } from './data-path.js';
import { dataPathMetrics } from './metrics.js';

export interface ProxyAgentOptions {
  /** The API server the caches list and watch (unused when `informers` is given). */
  readonly cluster?: ClusterAccess;
  readonly logger: Logger;
  /** Aborting stops the watches and closes every listener; the returned promise then resolves. */
  readonly signal: AbortSignal;
  /** The same `--cloud-config` the controller reads (`mode` is ignored here). */
  readonly config: Readonly<Record<string, unknown>>;
  /** How often to retry addresses that could not be bound. @default 10000 */
  readonly resyncIntervalMs?: number;
  /** Told after every pass over the caches (tests wait on it instead of the clock). */
  readonly onSynced?: () => void;
  /**
   * Gets an `informers` liveness check and an `informer-sync` readiness check, as the
   * controller's: an agent whose caches stopped would serve what it last saw, forever.
   */
  readonly checks?: HealthChecks;
  /** Given, once, what reads the data path's metrics, for the agent's `/metrics`. */
  readonly registerMetrics?: (collect: () => readonly MetricFamily[]) => void;
  /** The caches to serve from. @default new ones over `cluster` */
  readonly informers?: ClusterInformers;
}

function ownInformers(options: ProxyAgentOptions, logger: Logger): ClusterInformers {
  if (!options.cluster) throw new TypeError('proxy agent: give `cluster` or `informers`');
  return new ClusterInformers(new KubeApi(options.cluster), logger);
}

export async function runProxyAgent(options: ProxyAgentOptions): Promise<void> {
  const config = parseLocalConfig(options.config);
  const logger = options.logger.child({ component: 'proxy' });
  const pool = new AddressPool(config.addresses);
  const dataPath = new DataPath({ ...config, logger });
  options.registerMetrics?.(() => dataPathMetrics(dataPath));
  const informers = options.informers ?? ownInformers(options, logger);
  const { services, nodes } = informers;
  options.checks?.addHealthCheck('informers', () => {
    if (options.signal.aborted) return 'stopping';
    const stopped = [services, nodes].find((i) => i.synced && !i.running);
    if (stopped) throw new Error(`the ${stopped.name} informer has stopped`);
  });
  options.checks?.addReadyCheck('informer-sync', () => {
    if (!services.synced || !nodes.synced) throw new Error('caches not synced yet');
  });

  // Any change triggers one full pass; passes never overlap and bursts coalesce into one.
  let running: Promise<void> | undefined;
  let again = false;
  const sync = (): void => {
    if (options.signal.aborted) return;
    if (running) {
      again = true;
      return;
    }
    running = reconcileDataPath(
      dataPath,
      desiredServices(services.list(), nodes.list(), pool),
      logger,
    )
      .catch((err) => logger.error({ err }, 'proxy sync failed'))
      .finally(() => {
        running = undefined;
        options.onSynced?.();
        if (again) {
          again = false;
          sync();
        }
      });
  };
  services.addHandlers({ add: sync, update: sync, delete: sync });
  nodes.addHandlers({ add: sync, update: sync, delete: sync });

  const stopped = new Promise<void>((resolve) => {
    if (options.signal.aborted) resolve();
    else options.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await Promise.race([informers.start(), stopped]);
  const timer = setInterval(sync, options.resyncIntervalMs ?? 10_000);
  sync();
  logger.info({ addresses: pool.size }, 'proxy agent serving');

  await stopped;
  clearInterval(timer);
  await informers.stop();
  await running;
  await dataPath.close();
  logger.info('proxy agent stopped');
}
