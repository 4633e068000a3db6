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
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });

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
    help: 'Cloud API call attempts by provider, call budget, operation and outcome (success, error, throttled).',
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
      return ({ budget, operation, outcome, seconds }) => {
        calls.inc({ provider: providerName, budget, operation, outcome });
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
