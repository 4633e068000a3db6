/**
 * Wires one kube-lbc process together from a frozen Config, in upstream's order
 * (app/controllermanager.go): HTTP endpoints, informers, the provider behind the shared cloud-call
 * gate, the service controller, and leader election. `kube-lbc run` and `kube-lbc sandbox` both
 * start here.
 */
import { favourSmallHeap } from '../runtime/heap-footprint.js';
import type { Logger } from '../contract/logger.js';
import type { LoadBalancerProvider } from '../contract/provider.js';
import { ServiceController } from '../controllers/service/controller.js';
import { ApiEventRecorder } from '../controllers/service/events.js';
import { createServiceMetrics } from '../controllers/service/metrics.js';
import { createProvider } from '../providers/registry.js';
import { CloudCallGate, type CallObserver } from '../runtime/cloud-calls.js';
import { ClusterInformers } from '../runtime/cluster-informers.js';
import {
  addLeaderElectionChecks,
  HealthChecks,
  type RunningHttpServers,
} from '../runtime/http-server.js';
import { LeaderElector } from '../runtime/leader-election.js';
import { KubeApi } from '../runtime/kube-api.js';
import type { ClusterAccess } from '../runtime/cluster-access.js';
import { createMetrics, registerCollected, type Metrics } from '../runtime/metrics.js';
import { ConfigError, type Config } from './options/config.js';
import { startServers } from './serving.js';

export interface RunDeps {
  /** The API server and credentials (`accessFromKubeConfig` turns a client-node KubeConfig into one). */
  readonly cluster: ClusterAccess;
  readonly cloudConfig: Readonly<Record<string, unknown>>;
  readonly logger: Logger;
  readonly version: string;
  /** Called when this replica loses the lease: the process must stop and exit non-zero. */
  readonly onLostLeadership?: () => void;
}

export interface RunningController {
  readonly controller: ServiceController;
  readonly provider: LoadBalancerProvider;
  readonly informers: ClusterInformers;
  readonly servers: RunningHttpServers;
  readonly cloudCalls: CloudCallGate;
  /** Events are written in the background; `flush()` resolves when every one recorded is written. */
  readonly events: { flush(): Promise<void> };
  /** Resolves when this replica starts reconciling (at once without leader election). */
  readonly leading: Promise<void>;
  /**
   * Stops in upstream's order: no new work, in-flight syncs finish, the Lease is released (so a
   * standby takes over at once), then caches, provider and endpoints close.
   */
  stop(): Promise<void>;
}

export async function startController(config: Config, deps: RunDeps): Promise<RunningController> {
  const { logger } = deps;
  const api = new KubeApi(deps.cluster);
  favourSmallHeap();
  const metrics = createMetrics({ version: deps.version });
  const checks = new HealthChecks();
  const servers = await startServers(config, { registry: metrics.registry, checks, logger });
  const informers = new ClusterInformers(api, logger);
  addInformerChecks(checks, informers);

  // Aborted by stop(): no new work, and cloud calls still waiting (a throttle pause) give up.
  const stopping = new AbortController();
  const { provider, cloudCalls } = await startProvider(config, deps, {
    metrics,
    checks,
    informers,
    signal: stopping.signal,
  });
  const { controller, recorder } = newServiceController(config, deps, {
    api,
    metrics,
    informers,
    provider,
  });

  // Standbys keep warm caches too, so a takeover starts reconciling at once.
  await informers.start();
  logger.info(
    { services: informers.services.list().length, nodes: informers.nodes.list().length },
    'caches synced',
  );

  const election = startElection(config, deps, { api, metrics, checks, controller, stopping });
  return {
    controller,
    provider,
    informers,
    servers,
    cloudCalls,
    events: recorder,
    leading: election.leading,
    async stop() {
      stopping.abort(new Error('shutting down'));
      await election.stopped();
      await informers.stop();
      await recorder.flush();
      await provider.close?.();
      await servers.close();
      api.close();
    },
  };
}

function addInformerChecks(checks: HealthChecks, informers: ClusterInformers): void {
  checks.addHealthCheck('informers', () => {
    if (informers.services.synced && !informers.running) throw new Error('an informer has stopped');
  });
  checks.addReadyCheck('informer-sync', () => {
    if (!informers.services.synced || !informers.nodes.synced)
      throw new Error('caches not synced yet');
  });
}

/** The provider, built behind the shared cloud-call gate whose budgets it then declares. */
async function startProvider(
  config: Config,
  deps: RunDeps,
  parts: {
    metrics: Metrics;
    checks: HealthChecks;
    informers: ClusterInformers;
    signal: AbortSignal;
  },
): Promise<{ provider: LoadBalancerProvider; cloudCalls: CloudCallGate }> {
  // Metrics carry the provider's own name, known once the factory returns: a plugin loaded by
  // path would otherwise be labelled, and its cloudprovider_* metrics named, after that path.
  // Calls the factory itself makes are held until then.
  let observe: CallObserver | undefined;
  const early: Parameters<CallObserver>[0][] = [];
  const cloudCalls = new CloudCallGate({
    signal: parts.signal,
    defaultOverride: {
      ...(config.cloudQps !== undefined && { qps: config.cloudQps }),
      ...(config.cloudBurst !== undefined && { burst: config.cloudBurst }),
    },
    budgetOverrides: config.cloudBudgets,
    observer: (call) => (observe ? observe(call) : early.push(call)),
  });
  const provider = await createProvider(config.cloudProvider, {
    config: deps.cloudConfig,
    clusterName: config.clusterName,
    logger: deps.logger.child({ provider: config.cloudProvider }),
    cloudCalls,
    cluster: parts.informers.view(),
  });
  cloudCalls.configure(provider.callBudgets);
  const unknown = cloudCalls.undeclaredBudgets();
  if (unknown.length) {
    await provider.close?.();
    const known = Object.keys(provider.callBudgets).join(', ');
    throw new ConfigError(
      unknown.map(
        (f) =>
          `--cloud-budget: unknown family "${f}" for provider ${config.cloudProvider} (it has ${known})`,
      ),
    );
  }
  // Every attempt has a deadline, so a gate that stops moving while calls wait is wedged: restart.
  parts.checks.addHealthCheck('cloud-calls', () =>
    cloudCalls.healthCheck(config.cloudCallStallTimeoutMs),
  );
  observe = parts.metrics.cloudCallObserver(provider.name || config.cloudProvider);
  early.splice(0).forEach(observe);
  if (provider.collectMetrics)
    registerCollected(parts.metrics.registry, () => provider.collectMetrics!());
  return { provider, cloudCalls };
}

function newServiceController(
  config: Config,
  deps: RunDeps,
  parts: {
    api: KubeApi;
    metrics: Metrics;
    informers: ClusterInformers;
    provider: LoadBalancerProvider;
  },
): { controller: ServiceController; recorder: ApiEventRecorder } {
  const core = parts.api;
  const serviceMetrics = createServiceMetrics(parts.metrics.registry);
  const recorder = new ApiEventRecorder(core, {
    logger: deps.logger,
    onDrop: () => serviceMetrics.eventDropped(),
  });
  const controller = new ServiceController({
    api: core,
    informers: parts.informers,
    provider: parts.provider,
    config: {
      clusterName: config.clusterName,
      classes: {
        loadBalancerClasses: config.loadBalancerClasses,
        handleUnclassed: config.handleUnclassed,
      },
      concurrentServiceSyncs: config.concurrentServiceSyncs,
      nodePortRange: config.nodePortRange,
      nodeSyncPeriodMs: config.nodeSyncPeriodMs,
      nodeBatchWindowMs: config.nodeSyncBatchWindowMs,
      gcPeriodMs: config.gcPeriodMs,
      loadBalancerResyncPeriodMs: config.loadBalancerResyncPeriodMs,
    },
    recorder,
    logger: deps.logger,
    metrics: serviceMetrics,
    queueMetrics: parts.metrics.workQueue,
  });
  return { controller, recorder };
}

interface Election {
  /** Resolves when this replica starts reconciling. */
  readonly leading: Promise<void>;
  /** Resolves once the controller has stopped and the Lease is released. */
  stopped(): Promise<void>;
}

/** Runs the controller while this replica holds the Lease (at once without leader election). */
function startElection(
  config: Config,
  deps: RunDeps,
  parts: {
    api: KubeApi;
    metrics: Metrics;
    checks: HealthChecks;
    controller: ServiceController;
    stopping: AbortController;
  },
): Election {
  const { stopping } = parts;
  let running: Promise<void> | undefined;
  let startedLeading!: () => void;
  const leading = new Promise<void>((resolve) => (startedLeading = resolve));
  const runUntil = (signal: AbortSignal) => {
    startedLeading();
    running = parts.controller.run(AbortSignal.any([signal, stopping.signal])).catch((err) => {
      deps.logger.error({ err: String(err) }, 'controller failed');
    });
  };
  if (!config.leaderElection.enabled) {
    runUntil(new AbortController().signal);
    return { leading, stopped: async () => void (await running) };
  }
  const le = config.leaderElection;
  const elector = new LeaderElector({
    api: parts.api,
    namespace: le.resourceNamespace,
    name: le.resourceName,
    leaseDurationMs: le.leaseDurationMs,
    renewDeadlineMs: le.renewDeadlineMs,
    retryPeriodMs: le.retryPeriodMs,
    onStartedLeading: runUntil,
    onStoppedLeading: () => {
      if (!stopping.signal.aborted) deps.onLostLeadership?.();
    },
    metrics: parts.metrics.leader,
    logger: deps.logger,
  });
  addLeaderElectionChecks(parts.checks, elector, le.leaseDurationMs);
  void elector.run();
  return {
    leading,
    async stopped() {
      await running;
      await elector.release();
    },
  };
}
