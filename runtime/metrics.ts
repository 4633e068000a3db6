/**
 * The process's Prometheus registry and the metrics the runtime owns: process defaults, build
 * info, leader status, cloud API calls and the work queue. The controller registers its own
 * (reconcile duration, sync results) into the same registry.
 *
 * Names follow upstream where upstream has one, so dashboards built for the in-tree cloud
 * providers and client-go fit: `cloudprovider_aws_api_request_duration_seconds{request}`,
 * `leader_election_master_status{name}`, `workqueue_depth{name}`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { MetricFamily } from '../contract/metrics.js';
import type { CallObserver } from './cloud-calls.js';
import type { LeaderMetrics } from './leader-election.js';
import { createWorkQueueMetrics, reuse, type WorkQueueMetrics } from './workqueue-metrics.js';

export interface MetricsOptions {
  /** kube-lbc's version, for `kube_lbc_build_info`. */
  version: string;
  /** Process metrics (CPU, memory, event-loop lag, ...). @default true */
  processMetrics?: boolean;
}

export interface Metrics {
  readonly registry: Registry;
  /** Feeds the cloud-call metrics; pass it to `new CloudCallGate({ observer })`. */
  cloudCallObserver(providerName: string): CallObserver;
  /** Drives `leader_election_master_status`; pass it to the `LeaderElector`. */
  readonly leader: LeaderMetrics;
  readonly workQueue: WorkQueueMetrics;
}

export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  const registers = [registry];
  // The event-loop lag is sampled every 100 ms, not prom-client's 10: a 10 ms timer wakes an idle
  // controller 100 times a second, measured at 0.4% of a core doing nothing. A stall still shows:
  // the sample it delays records it.
  if (options.processMetrics ?? true)
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });

  new Gauge({
    name: 'kube_lbc_build_info',
    help: 'A metric with a constant 1 value labelled by the version kube-lbc was built from.',
    labelNames: ['version', 'node_version'],
    registers,
  }).set({ version: options.version, node_version: process.version }, 1);

  // client-go's leaderMetricsAdapter: 1 while this replica leads the named lease, else 0.
  const leaderGauge = new Gauge({
    name: 'leader_election_master_status',
    help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master.',
    labelNames: ['name'],
    registers,
  });

  const calls = new Counter({
    name: 'kube_lbc_cloud_api_calls_total',
    help: 'Cloud API call attempts by provider, call budget, operation and outcome (success, error, throttled, timeout).',
    labelNames: ['provider', 'budget', 'operation', 'outcome'],
    registers,
  });
  // As client-go's rest_client_request_retries_total: one per retried attempt, by how it went.
  const retries = new Counter({
    name: 'kube_lbc_cloud_api_retries_total',
    help: 'Cloud API call attempts that were retries (after a throttle or a transient failure), by provider, call budget, operation and outcome.',
    labelNames: ['provider', 'budget', 'operation', 'outcome'],
    registers,
  });
  const throttles = new Counter({
    name: 'kube_lbc_cloud_api_throttles_total',
    help: 'Cloud API calls the cloud throttled; each pauses the whole call budget.',
    labelNames: ['provider', 'budget', 'operation'],
    registers,
  });

  return {
    registry,
    leader: {
      leaderOn: (name) => leaderGauge.set({ name }, 1),
      leaderOff: (name) => leaderGauge.set({ name }, 0),
    },
    workQueue: createWorkQueueMetrics(registry),
    cloudCallObserver(providerName) {
      const upstream = upstreamProviderMetrics(registry, providerName);
      return ({ budget, operation, outcome, seconds, attempt = 1 }) => {
        calls.inc({ provider: providerName, budget, operation, outcome });
        if (attempt > 1) retries.inc({ provider: providerName, budget, operation, outcome });
        if (outcome === 'throttled') throttles.inc({ provider: providerName, budget, operation });
        upstream.duration.observe({ request: operation }, seconds);
        if (outcome !== 'success') upstream.errors.inc({ request: operation });
      };
    },
  };
}

/**
 * The per-provider pair the in-tree cloud providers export. GCP's are named `gce` upstream; a
 * plugin's name is reduced to the characters a metric name may hold.
 */
function upstreamProviderMetrics(registry: Registry, providerName: string) {
  const prefix = `cloudprovider_${metricNamePart(providerName === 'gcp' ? 'gce' : providerName)}_api_request`;
  const registers = [registry];
  return {
    duration: reuse(
      registry,
      `${prefix}_duration_seconds`,
      (name) =>
        new Histogram({
          name,
          help: `Latency of ${providerName} API calls, by request.`,
          labelNames: ['request'],
          registers,
        }),
    ),
    errors: reuse(
      registry,
      `${prefix}_errors`,
      (name) =>
        new Counter({
          name,
          help: `${providerName} API calls that failed or were throttled, by request.`,
          labelNames: ['request'],
          registers,
        }),
    ),
  };
}

export function metricNamePart(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

/**
 * Serves `collect()`'s families from `registry`, read afresh at each scrape. The families (names,
 * types, labels) are fixed by the first call.
 */
export function registerCollected(
  registry: Registry,
  collect: () => readonly MetricFamily[],
): void {
  for (const family of collect()) {
    const read = () => collect().find((f) => f.name === family.name)?.samples ?? [];
    const options = {
      name: family.name,
      help: family.help,
      labelNames: [...family.labelNames],
      registers: [registry],
    };
    if (family.type === 'counter') {
      new Counter({
        ...options,
        collect() {
          this.reset();
          for (const s of read()) this.inc(s.labels, s.value);
        },
      });
    } else {
      new Gauge({
        ...options,
        collect() {
          this.reset();
          for (const s of read()) this.set(s.labels, s.value);
        },
      });
    }
  }
}
