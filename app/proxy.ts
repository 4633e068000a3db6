/**
 * `kube-lbc proxy`: the local provider's edge agent on each node, with its own probe endpoints
 * and signal drain. It loads no controller code: the agent stands on contract/ and runtime/.
 */
import { quote } from '../contract/quote.js';
import { runProxyAgent } from '../providers/local/agent.js';
import { HealthChecks } from '../runtime/http-server.js';
import { createLogger } from '../runtime/logger.js';
import { createMetrics, registerCollected } from '../runtime/metrics.js';
import { Shutdown } from '../runtime/shutdown.js';
import { loadCloudConfig, loadClusterAccess } from './inputs.js';
import {
  bindAddressError,
  collectConfigErrors as collect,
  ConfigError,
  LOG_FORMATS,
  LOG_LEVELS,
} from './options/config.js';
import { startServers } from './serving.js';
import { checkBuiltinConfig } from '../providers/registry.js';

export interface ProxyOptions {
  readonly kubeconfig?: string;
  readonly cloudConfig?: string;
  readonly healthProbeBindAddress: string;
  /** `/metrics`: the data path's connections, bytes and backend health. @default '0' (off) */
  readonly metricsBindAddress?: string;
  readonly logLevel: string;
  readonly logFormat: string;
}

export async function runProxy(opts: ProxyOptions, version: string): Promise<void> {
  const errors = [
    oneOfError('log-level', opts.logLevel, LOG_LEVELS),
    oneOfError('log-format', opts.logFormat, LOG_FORMATS),
    bindAddressError('health-probe-bind-address', opts.healthProbeBindAddress),
    bindAddressError('metrics-bind-address', opts.metricsBindAddress ?? '0'),
  ].filter((e) => e !== undefined);
  // Every input is checked before the health port binds, so a taken port hides no bad key.
  const cluster = collect(errors, () => loadClusterAccess(opts.kubeconfig));
  const config = collect(errors, () => loadCloudConfig(opts.cloudConfig));
  const refused = config && (await checkBuiltinConfig('local', config));
  if (refused) errors.push(`--cloud-config: ${refused}`);
  if (errors.length || !cluster || !config) throw new ConfigError(errors);
  const logger = createLogger({
    level: opts.logLevel as (typeof LOG_LEVELS)[number],
    format: opts.logFormat as (typeof LOG_FORMATS)[number],
  });
  const metrics = createMetrics({ version });
  const checks = new HealthChecks();
  const servers = await startServers(
    {
      metricsBindAddress: opts.metricsBindAddress ?? '0',
      healthProbeBindAddress: opts.healthProbeBindAddress,
    },
    { registry: metrics.registry, checks, logger },
  );
  const shutdown = new Shutdown({ logger }).install();
  const stop = new AbortController();
  const done = runProxyAgent({
    cluster,
    logger,
    signal: stop.signal,
    config,
    checks,
    registerMetrics: (collect) => registerCollected(metrics.registry, collect),
  });
  shutdown.onShutdown('proxy', async () => {
    stop.abort();
    await done;
    await servers.close();
  });
  await done;
}

function oneOfError(flag: string, value: string, allowed: readonly string[]): string | undefined {
  return allowed.includes(value)
    ? undefined
    : `--${flag}: expected ${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}, got ${quote(value)}`;
}
