/**
 * A whole cluster for integration tests: the API emulator, the real client, informers, the real
 * ServiceController and a provider, all in-process and over real HTTP. `until` waits on events
 * (informer updates and finished syncs), never on the clock.
 *
 * With KUBE_LBC_TEST_APISERVER=real (set by scripts/real-apiserver/test.sh next to KUBECONFIG) the
 * same tests run against the server behind $KUBECONFIG instead, which they empty of Services,
 * Nodes and default's Events before and after each test. KUBECONFIG alone never selects it: a
 * developer's cluster must not be wiped by a test run.
 */
import { EventEmitter } from 'node:events';
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  VersionApi,
  type V1Node,
  type V1Service,
} from '@kubernetes/client-node';
import {
  ServiceController,
  type ServiceControllerConfig,
} from '../../controllers/service/controller.js';
import { ClusterInformers } from '../../runtime/cluster-informers.js';
import { ApiEventRecorder } from '../../controllers/service/events.js';
import type {
  ServiceMetrics,
  SyncOperation,
  SyncResult,
} from '../../controllers/service/metrics.js';
import { createFakeCloud, createFakeProvider, type FakeCloud } from '../../providers/fake/index.js';
import type {
  Capabilities,
  LoadBalancerProvider,
  ProviderFactory,
} from '../../contract/provider.js';
import {
  startApiServer,
  type ApiServer,
  type ApiServerOptions,
} from '../../sandbox/apiserver/index.js';
import type { BackoffOptions } from '../../runtime/backoff.js';
import { CloudCallGate } from '../../runtime/cloud-calls.js';
import { reuseConnections } from '../../runtime/kube-client.js';
import { noopLogger, type Logger } from '../../contract/logger.js';
import { kubeApiFor } from '../../runtime/kube-api.js';

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
  /**
   * Reuse a running server (a "restart" of kube-lbc over the same cluster): nothing is cleaned
   * and `stop()` leaves it running.
   */
  readonly apiServer?: ApiServer | TestApiServer;
  /** Emulator only: on a real server, skip a test that needs these. */
  readonly apiServerOptions?: ApiServerOptions;
  readonly backoff?: BackoffOptions;
  readonly logger?: Logger;
  /** Where NodePort allocation starts in the range (0..1). */
  readonly random?: () => number;
  /** The gate to hand the provider (an observer, other timings). Default: a plain one. */
  readonly cloudCalls?: CloudCallGate;
}

export interface TestCluster {
  /** The emulator (faults, audit). There is none on a real server: reading this throws there. */
  readonly api: ApiServer;
  /** True against the real server behind $KUBECONFIG: skip what needs `api` there. */
  readonly real: boolean;
  /** The server's minor version: 20 for the Debian-built kube-apiserver. */
  readonly serverMinor: number;
  readonly kubeConfig: KubeConfig;
  readonly core: CoreV1Api;
  readonly cloud: FakeCloud;
  readonly provider: LoadBalancerProvider;
  readonly cloudCalls: CloudCallGate;
  readonly controller: ServiceController;
  readonly informers: ClusterInformers;
  readonly recorder: ApiEventRecorder;
  /** Every finished sync, in order. */
  readonly syncs: SyncRecord[];
  /** Resolves once `check` returns a truthy value, re-checked on every informer event and sync. */
  until<T>(check: () => T | undefined | false, what: string, timeoutMs?: number): Promise<T>;
  /** Waits until `n` more syncs have finished than `since` (an index into `syncs`). */
  syncsAfter(since: number, n: number): Promise<SyncRecord[]>;
  /**
   * Waits until the controller has no key queued or being synced: everything the cache has seen
   * so far is handled. Wait on the cache first (events still on the wire are not counted).
   */
  idle(): Promise<void>;
  /** The Service as the controller's cache sees it. */
  cached(namespace: string, name: string): V1Service | undefined;
  /**
   * Stops the controller and informers, then closes the emulator or empties the real server,
   * unless the server was passed in.
   */
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

/** Set by scripts/real-apiserver/test.sh, which also points KUBECONFIG at its own server. */
export const onRealApiServer = process.env.KUBE_LBC_TEST_APISERVER === 'real';

/** The API server under a test cluster: a fresh emulator, or the real server made empty. */
export interface TestApiServer {
  readonly real: boolean;
  /** The emulator (faults, audit); undefined on a real server. */
  readonly emulator: ApiServer | undefined;
  /** /version's minor: 20 for the Debian-built kube-apiserver. */
  readonly minor: number;
  /** A new client config for this server, as a restarted process would load it. */
  kubeConfig(): KubeConfig;
  /** Closes the emulator; on a real server, deletes what the tests made and waits until it is gone. */
  close(): Promise<void>;
}

/**
 * The emulator, or with KUBE_LBC_TEST_APISERVER=real the server behind $KUBECONFIG after
 * emptying it. `emulatorOptions` cannot be honoured by a real server: tests that need them skip there.
 */
export async function openTestApiServer(
  emulatorOptions?: ApiServerOptions,
): Promise<TestApiServer> {
  if (!onRealApiServer) return asTestApiServer(await startApiServer(emulatorOptions));
  if (emulatorOptions)
    throw new Error('apiServerOptions need the emulator: skip this test on a real server');
  // Whatever an earlier test or suite left behind would be acted on by the new controller.
  await emptyRealServer(realCore());
  return {
    real: true,
    emulator: undefined,
    minor: await serverMinor(loadRealKubeConfig()),
    kubeConfig: loadRealKubeConfig,
    close: () => emptyRealServer(realCore()),
  };
}

function loadRealKubeConfig(): KubeConfig {
  const path = process.env.KUBECONFIG;
  if (!path) throw new Error('KUBE_LBC_TEST_APISERVER=real needs KUBECONFIG');
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

let cleaner: CoreV1Api | undefined;
/** One client (and so one keep-alive connection pool) for every cleanup in the run. */
const realCore = () =>
  (cleaner ??= reuseConnections(loadRealKubeConfig()).makeApiClient(CoreV1Api));

async function asTestApiServer(server: ApiServer | TestApiServer): Promise<TestApiServer> {
  if ('real' in server) return server;
  return {
    real: false,
    emulator: server,
    minor: await serverMinor(server.kubeConfig()),
    kubeConfig: () => server.kubeConfig(),
    close: () => server.close(),
  };
}

const minors = new Map<string, Promise<number>>();

/** Asked once per server. */
function serverMinor(kc: KubeConfig): Promise<number> {
  const url = kc.getCurrentCluster()?.server ?? '';
  let minor = minors.get(url);
  if (!minor) {
    minor = kc
      .makeApiClient(VersionApi)
      .getCode()
      .then((v) => Number.parseInt(v.minor, 10));
    minors.set(url, minor);
  }
  return minor;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const ignoreNotFound = (err: unknown) => {
  if (!(err instanceof ApiException && err.code === 404)) throw err;
};
const isApiServerService = (s: V1Service) =>
  s.metadata?.namespace === 'default' && s.metadata?.name === 'kubernetes';

/**
 * Deletes every Service but default/kubernetes (finalizers stripped first: no controller is left
 * to remove them), every Node and default's Events, then reads back until they are gone. Deletes
 * without finalizers are immediate, so one pass normally suffices; a pass that finds leftovers
 * (a finalizer added under it) simply goes again.
 */
async function emptyRealServer(core: CoreV1Api): Promise<void> {
  for (let pass = 1; ; pass++) {
    const services = (await core.listServiceForAllNamespaces()).items.filter(
      (s) => !isApiServerService(s),
    );
    const nodes = (await core.listNode()).items;
    if (services.length === 0 && nodes.length === 0) break;
    if (pass > 5) {
      const left = [
        ...services.map((s) => `service ${s.metadata?.namespace}/${s.metadata?.name}`),
        ...nodes.map((n) => `node ${n.metadata?.name}`),
      ];
      throw new Error(
        `real API server: still there after ${pass - 1} cleanups: ${left.join(', ')}`,
      );
    }
    await Promise.all([
      ...services.map(async (s) => {
        const { name = '', namespace = '' } = s.metadata ?? {};
        if (s.metadata?.finalizers?.length) {
          await core
            .patchNamespacedService(
              { name, namespace, body: { metadata: { finalizers: null } } },
              mergePatch,
            )
            .catch(ignoreNotFound);
        }
        await core.deleteNamespacedService({ name, namespace }).catch(ignoreNotFound);
      }),
      ...nodes.map((n) => core.deleteNode({ name: n.metadata?.name ?? '' }).catch(ignoreNotFound)),
    ]);
  }
  // Events outlive their Service; a test reading "the Events for web" must not see another test's.
  await core.deleteCollectionNamespacedEvent({ namespace: 'default' });
}

export async function startTestCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  const server = options.apiServer
    ? await asTestApiServer(options.apiServer)
    : await openTestApiServer(options.apiServerOptions);
  const kubeConfig = reuseConnections(server.kubeConfig());
  const core = kubeConfig.makeApiClient(CoreV1Api);
  for (const node of options.nodes ?? []) await core.createNode({ body: forCreate(node) });
  for (const svc of options.services ?? []) {
    await core.createNamespacedService({
      namespace: svc.metadata?.namespace ?? 'default',
      body: forCreate(svc),
    });
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
    eventDropped() {},
  };
  const config = { ...defaultTestConfig, ...options.config };
  const logger = options.logger ?? noopLogger;
  // The controller's client as kube-lbc run makes it (app/controller-manager.ts).
  const kubeApi = kubeApiFor(kubeConfig);
  const informers = new ClusterInformers(kubeApi, logger);
  const cloud = options.cloud ?? createFakeCloud();
  const cloudCalls = options.cloudCalls ?? new CloudCallGate();
  const factory =
    options.provider ?? createFakeProvider(cloud, { capabilities: options.capabilities });
  const provider = await factory({
    config: options.cloudConfig ?? {},
    clusterName: config.clusterName,
    logger,
    cloudCalls,
    cluster: informers.view(),
  });
  cloudCalls.configure(provider.callBudgets);
  const writes = kubeApi;
  const recorder = new ApiEventRecorder(writes, { logger });
  const controller = new ServiceController({
    api: writes,
    informers,
    provider,
    config,
    recorder,
    logger,
    metrics,
    backoff: options.backoff ?? { baseMs: 20, maxMs: 200, jitter: 0 },
    random: options.random,
    queueMetrics: {
      add() {},
      depth() {},
      queueLatency() {},
      // Called just before the queue marks the key done (or requeues it): look again after that.
      workDuration: () => queueMicrotask(() => changed.emit('change')),
      retry() {},
    },
  });
  const emit = () => changed.emit('change');
  informers.services.addHandlers({ add: emit, update: emit, delete: emit });
  informers.nodes.addHandlers({ add: emit, update: emit, delete: emit });
  await informers.start();
  const abort = new AbortController();
  const running = controller.run(abort.signal);

  const until = <T>(
    check: () => T | undefined | false,
    what: string,
    timeoutMs = 10_000,
  ): Promise<T> =>
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
    get api(): ApiServer {
      if (!server.emulator)
        throw new Error('no API emulator on a real server: skip this test there');
      return server.emulator;
    },
    real: server.real,
    serverMinor: server.minor,
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
    idle: async () => {
      const queue = controller.queue;
      await until(() => queue.length === 0 && queue.processing === 0, 'an idle work queue');
    },
    cached: (namespace, name) => informers.services.get(`${namespace}/${name}`),
    async stop() {
      abort.abort();
      await running;
      await recorder.flush();
      await informers.stop();
      await provider.close?.();
      if (!options.apiServer) await server.close();
    },
  };
}

/** A builder's object as a client would POST it: the server assigns uid, versions and status. */
export function forCreate<
  T extends { metadata?: { uid?: string; resourceVersion?: string; generation?: number } },
>(obj: T): T {
  const copy = structuredClone(obj);
  if (copy.metadata) {
    delete copy.metadata.uid;
    delete copy.metadata.resourceVersion;
    delete copy.metadata.generation;
  }
  return copy;
}
