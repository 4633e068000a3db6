/**
 * `kube-lbc run`: flags to a frozen Config, then the controller manager under a signal drain.
 * A lost lease stops the process with exit 1, as upstream's does.
 */
import { createLogger } from '../runtime/logger.js';
import { Shutdown } from '../runtime/shutdown.js';
import { startController } from './controller-manager.js';
import { loadCloudConfig, loadKubeConfig } from './inputs.js';
import { buildConfig, type RawFlags } from './options/config.js';

export async function runControllerManager(flags: RawFlags, version: string): Promise<void> {
  const config = buildConfig(flags);
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  const kubeConfig = loadKubeConfig(config.kubeconfig);
  const cloudConfig = loadCloudConfig(config.cloudConfigPath);
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
