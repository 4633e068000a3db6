/**
 * A whole cluster for integration tests: the API emulator, the real client, informers, the real
 * ServiceController and a provider, all in-process and over real HTTP. `until` waits on events
 * (informer updates and finished syncs), never on the clock.
 */
import { EventEmitter } from 'node:events';
import { CoreV1Api, type KubeConfig, type V1Node, type V1Service } from '@kubernetes/client-node';
import { ClusterInformers, ServiceController, type ServiceControllerConfig } from '../../controllers/service/controller.js';
import { ApiEventRecorder } from '../../controllers/service/events.js';
import type { ServiceMetrics, SyncOperation, SyncResult } from '../../controllers/service/metrics.js';
import { createFakeCloud, createFakeProvider, type FakeCloud } from '../../providers/fake/index.js';
import type { Capabilities, LoadBalancerProvider, ProviderFactory } from '../../providers/provider.js';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../../sandbox/apiserver/index.js';
import type { BackoffOptions } from '../../runtime/backoff.js';
import { CloudCalls } from '../../runtime/cloud-calls.js';
import { reuseConnections } from '../../runtime/kube-client.js';
import { noopLogger, type Logger } from '../../runtime/logger.js';

export interface SyncRecord {
  readonly operation: SyncOperation;
  readonly result: SyncResult;
}

export interface TestClusterOptions {
  /** Default: the fake provider over `cloud` (a fresh FakeCloud unless given). */
  readonly provider?: ProviderFactory;
  readonly cloud?: FakeCloud;
  readonly capabilities?: Partial<Capabilities>;
  readonly cloudConfig?: Record<string, unknown>;
  readonly config?: Partial<ServiceControllerConfig>;
  /** Created before the controller starts. */
  readonly nodes?: readonly V1Node[];
  readonly services?: readonly V1Service[];
  /** Reuse a running emulator (a "restart" of kube-lbc over the same cluster). */
  readonly apiServer?: ApiServer;
  readonly apiServerOptions?: ApiServerOptions;
  readonly backoff?: BackoffOptions;
  readonly logger?: Logger;
  /** Where NodePort allocation starts in the range (0..1). */
  readonly random?: () => number;
}

export interface TestCluster {
  readonly api: ApiServer;
  readonly kubeConfig: KubeConfig;
  readonly core: CoreV1Api;
  readonly cloud: FakeCloud;
  readonly provider: LoadBalancerProvider;
  readonly cloudCalls: CloudCalls;
  readonly controller: ServiceController;
  readonly informers: ClusterInformers;
  readonly recorder: ApiEventRecorder;
  /** Every finished sync, in order. */
  readonly syncs: SyncRecord[];
  /** Resolves once `check` returns a truthy value, re-checked on every informer event and sync. */
  until<T>(check: () => T | undefined | false, what: string, timeoutMs?: number): Promise<T>;
  /** Waits until `n` more syncs have finished than `since` (an index into `syncs`). */
  syncsAfter(since: number, n: number): Promise<SyncRecord[]>;
  /** The Service as the controller's cache sees it. */
  cached(namespace: string, name: string): V1Service | undefined;
  /** Stops the controller and informers (and the emulator unless it was passed in). */
  stop(): Promise<void>;
}

export const defaultTestConfig: ServiceControllerConfig = {
  clusterName: 'test',
  classes: { loadBalancerClasses: [], handleUnclassed: true },
  concurrentServiceSyncs: 8,
  nodePortRange: { min: 30000, max: 32767 },
  nodeSyncPeriodMs: 0,
  nodeBatchWindowMs: 10,
  gcPeriodMs: 0,
  loadBalancerResyncPeriodMs: 0,
};

export async function startTestCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  const api = options.apiServer ?? (await startApiServer(options.apiServerOptions));
  const kubeConfig = reuseConnections(api.kubeConfig());
  const core = kubeConfig.makeApiClient(CoreV1Api);
  for (const node of options.nodes ?? []) await core.createNode({ body: forCreate(node) });
  for (const svc of options.services ?? []) {
    await core.createNamespacedService({ namespace: svc.metadata?.namespace ?? 'default', body: forCreate(svc) });
  }

  const changed = new EventEmitter();
  changed.setMaxListeners(0);
  const syncs: SyncRecord[] = [];
  const metrics: ServiceMetrics = {
    sync(operation, result) {
      syncs.push({ operation, result });
      changed.emit('change');
    },
    nodeSync() {},
    firstIngress() {},
  };
  const config = { ...defaultTestConfig, ...options.config };
  const logger = options.logger ?? noopLogger;
  const informers = new ClusterInformers(kubeConfig, logger);
  const cloud = options.cloud ?? createFakeCloud();
  const cloudCalls = new CloudCalls();
  const factory = options.provider ?? createFakeProvider(cloud, { capabilities: options.capabilities });
  const provider = await factory({
    config: options.cloudConfig ?? {},
    clusterName: config.clusterName,
    logger,
    cloudCalls,
    cluster: informers.view(),
  });
  cloudCalls.configure(provider.callBudgets);
  const recorder = new ApiEventRecorder(core, { logger });
  const controller = new ServiceController({
    api: core,
    informers,
    provider,
    config,
    recorder,
    logger,
    metrics,
    backoff: options.backoff ?? { baseMs: 20, maxMs: 200, jitter: 0 },
    random: options.random,
  });
  const emit = () => changed.emit('change');
  informers.services.addHandlers({ add: emit, update: emit, delete: emit });
  informers.nodes.addHandlers({ add: emit, update: emit, delete: emit });
  await informers.start();
  const abort = new AbortController();
  const running = controller.run(abort.signal);

  const until = <T>(check: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const attempt = () => {
        let value: T | undefined | false;
        try {
          value = check();
        } catch (err) {
          finish();
          reject(err);
          return;
        }
        if (value) {
          finish();
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        changed.off('change', attempt);
      };
      changed.on('change', attempt);
      attempt();
    });

  return {
    api,
    kubeConfig,
    core,
    cloud,
    provider,
    cloudCalls,
    controller,
    informers,
    recorder,
    syncs,
    until,
    syncsAfter: (since, n) =>
      until(() => syncs.length >= since + n && syncs.slice(since), `${n} syncs after #${since}`),
    cached: (namespace, name) => informers.services.get(`${namespace}/${name}`),
    async stop() {
      abort.abort();
      await running;
      await recorder.flush();
      await informers.stop();
      await provider.close?.();
      if (!options.apiServer) await api.close();
    },
  };
}

/** A builder's object as a client would POST it: the server assigns uid, versions and status. */
export function forCreate<T extends { metadata?: { uid?: string; resourceVersion?: string; generation?: number } }>(obj: T): T {
  const copy = structuredClone(obj);
  if (copy.metadata) {
    delete copy.metadata.uid;
    delete copy.metadata.resourceVersion;
    delete copy.metadata.generation;
  }
  return copy;
}
