/**
 * `kube-lbc run`: flags to a frozen Config, then the controller manager under a signal drain.
 * A lost lease stops the process with exit 1, as upstream's does. The first log line names the
 * version and the effective configuration, so a bug report carries both.
 */
import { createLogger } from '../runtime/logger.js';
import { Shutdown } from '../runtime/shutdown.js';
import { startController } from './controller-manager.js';
import { loadCloudConfig, loadKubeConfig } from './inputs.js';
import { buildConfig, type Config, type RawFlags } from './options/config.js';

export async function runControllerManager(flags: RawFlags, version: string): Promise<void> {
  const config = buildConfig(flags);
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  const kubeConfig = loadKubeConfig(config.kubeconfig);
  const cloudConfig = loadCloudConfig(config.cloudConfigPath);
  logger.info(startupSummary(version, config, cloudConfig), 'starting kube-lbc');
  const shutdown = new Shutdown({ drainTimeoutMs: config.shutdownGracePeriodMs, logger }).install();
  const running = await startController(config, {
    kubeConfig,
    cloudConfig,
    logger,
    version,
    onLostLeadership: () => void shutdown.shutdown('leader election lost', 1),
  });
  shutdown.onShutdown('controller', () => running.stop());
}

/** Cloud-config keys whose values are never logged, at any depth. */
const SECRET_KEY =
  /secret|token|password|passwd|credential|private|apikey|api[-_]?key|accesskey|auth/i;

/** The version, Node's, the flags as parsed, and the cloud-config with secret-looking values hidden. */
export function startupSummary(
  version: string,
  config: Config,
  cloudConfig: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  return { version, node: process.version, config, cloudConfig: redact(cloudConfig) };
}

function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) ? '<redacted>' : redact(v)]),
  );
}
