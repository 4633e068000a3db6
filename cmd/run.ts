/**
 * Wires one kube-lbc process together from a frozen Config: HTTP endpoints, informers, the
 * provider behind the shared cloud-call gate, the service controller, and leader election.
 * `kube-lbc run` and `kube-lbc sandbox` both start here.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { ServiceController } from '../controllers/service/controller.js';
import { ClusterInformers } from '../runtime/cluster-informers.js';
import { ApiEventRecorder } from '../controllers/service/events.js';
import { createServiceMetrics } from '../controllers/service/metrics.js';
import type { LoadBalancerProvider } from '../providers/provider.js';
import { errorMessage } from '../providers/errors.js';
import { createProvider } from '../providers/registry.js';
import { CloudCalls, type CallObserver } from '../runtime/cloud-calls.js';
import { addLeaderElectionChecks, HealthChecks, parseBindAddress, startHttpServers, type RunningHttpServers } from '../runtime/http-server.js';
import { LeaderElector } from '../runtime/leader-election.js';
import type { Logger } from '../runtime/logger.js';
import { createMetrics } from '../runtime/metrics.js';
import { ConfigError, type Config } from './config.js';

export interface RunDeps {
  readonly kubeConfig: KubeConfig;
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
  readonly cloudCalls: CloudCalls;
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
  const { kubeConfig, logger } = deps;
  const metrics = createMetrics({ version: deps.version });
  const checks = new HealthChecks();
  const servers = await startHttpServers({
    metricsBindAddress: config.metricsBindAddress,
    healthProbeBindAddress: config.healthProbeBindAddress,
    registry: metrics.registry,
    checks,
    logger,
  }).catch((err: unknown) => {
    throw bindFailure(err, { 'metrics-bind-address': config.metricsBindAddress, 'health-probe-bind-address': config.healthProbeBindAddress });
  });
  const informers = new ClusterInformers(kubeConfig, logger);
  checks.addHealthCheck('informers', () => {
    if (informers.services.synced && !informers.running) throw new Error('an informer has stopped');
  });
  checks.addReadyCheck('informer-sync', () => {
    if (!informers.services.synced || !informers.nodes.synced) throw new Error('caches not synced yet');
  });

  // Aborted by stop(): no new work, and cloud calls still waiting (a throttle pause) give up.
  const stopping = new AbortController();
  // Metrics carry the provider's own name, known once the factory returns: a plugin loaded by
  // path would otherwise be labelled, and its cloudprovider_* metrics named, after that path.
  // Calls the factory itself makes are held until then.
  let observe: CallObserver | undefined;
  const early: Parameters<CallObserver>[0][] = [];
  const cloudCalls = new CloudCalls({
    signal: stopping.signal,
    defaultOverride: {
      ...(config.cloudQps !== undefined && { qps: config.cloudQps }),
      ...(config.cloudBurst !== undefined && { burst: config.cloudBurst }),
    },
    observer: (call) => (observe ? observe(call) : early.push(call)),
  });
  const provider = await createProvider(config.cloudProvider, {
    config: deps.cloudConfig,
    clusterName: config.clusterName,
    logger: logger.child({ provider: config.cloudProvider }),
    cloudCalls,
    cluster: informers.view(),
  });
  cloudCalls.configure(provider.callBudgets);
  // Every attempt has a deadline, so a gate that stops moving while calls wait is wedged: restart.
  checks.addHealthCheck('cloud-calls', () => cloudCalls.healthCheck(config.cloudCallStallTimeoutMs));
  observe = metrics.cloudCallObserver(provider.name || config.cloudProvider);
  early.splice(0).forEach(observe);

  const core = kubeConfig.makeApiClient(CoreV1Api);
  const serviceMetrics = createServiceMetrics(metrics.registry);
  const recorder = new ApiEventRecorder(core, { logger, onDrop: () => serviceMetrics.eventDropped() });
  const controller = new ServiceController({
    api: core,
    informers,
    provider,
    config: {
      clusterName: config.clusterName,
      classes: { loadBalancerClasses: config.loadBalancerClasses, handleUnclassed: config.handleUnclassed },
      concurrentServiceSyncs: config.concurrentServiceSyncs,
      nodePortRange: config.nodePortRange,
      nodeSyncPeriodMs: config.nodeSyncPeriodMs,
      nodeBatchWindowMs: config.nodeSyncBatchWindowMs,
      gcPeriodMs: config.gcPeriodMs,
      loadBalancerResyncPeriodMs: config.loadBalancerResyncPeriodMs,
    },
    recorder,
    logger,
    metrics: serviceMetrics,
    queueMetrics: metrics.workQueue,
  });

  // Standbys keep warm caches too, so a takeover starts reconciling at once.
  await informers.start();
  logger.info({ services: informers.services.list().length, nodes: informers.nodes.list().length }, 'caches synced');

  let running: Promise<void> | undefined;
  let elector: LeaderElector | undefined;
  let startedLeading!: () => void;
  const leading = new Promise<void>((resolve) => (startedLeading = resolve));
  const runUntil = (signal: AbortSignal) => {
    startedLeading();
    running = controller.run(AbortSignal.any([signal, stopping.signal])).catch((err) => {
      logger.error({ err: String(err) }, 'controller failed');
    });
  };
  if (config.leaderElection.enabled) {
    const le = config.leaderElection;
    elector = new LeaderElector({
      kubeConfig,
      namespace: le.resourceNamespace,
      name: le.resourceName,
      leaseDurationMs: le.leaseDurationMs,
      renewDeadlineMs: le.renewDeadlineMs,
      retryPeriodMs: le.retryPeriodMs,
      onStartedLeading: runUntil,
      onStoppedLeading: () => {
        if (!stopping.signal.aborted) deps.onLostLeadership?.();
      },
      metrics: metrics.leader,
      logger,
    });
    addLeaderElectionChecks(checks, elector, le.leaseDurationMs);
    void elector.run();
  } else {
    runUntil(new AbortController().signal);
  }

  return {
    controller,
    provider,
    informers,
    servers,
    cloudCalls,
    events: recorder,
    leading,
    async stop() {
      stopping.abort(new Error('shutting down'));
      await running;
      await elector?.release();
      await informers.stop();
      await recorder.flush();
      await provider.close?.();
      await servers.close();
    },
  };
}

/**
 * A listen error, naming the flag whose address failed: an address this host cannot have (no
 * such interface or name) is a flag to fix, exit 2; anything else (a port in use) exits 1.
 */
export function bindFailure(err: unknown, flags: Readonly<Record<string, string>>): Error {
  const e = err as NodeJS.ErrnoException & { port?: number; address?: string; hostname?: string };
  const named = Object.entries(flags).filter(([, value]) => {
    let bind: ReturnType<typeof parseBindAddress>;
    try {
      bind = parseBindAddress(value);
    } catch {
      return true;
    }
    if (!bind) return false;
    if (e.hostname !== undefined) return bind.host === e.hostname;
    return e.port === undefined || e.port === bind.port;
  });
  const blamed = named.length ? named : Object.entries(flags).filter(([, value]) => value !== '0');
  const messages = blamed.map(([flag, value]) => `--${flag}: cannot serve on "${value}": ${errorMessage(err)}`);
  if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND') return new ConfigError(messages);
  return new Error(messages.join('; '), { cause: err });
}
