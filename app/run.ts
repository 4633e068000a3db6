/**
 * `kube-lbc run`: flags to a frozen Config, then the controller manager under a signal drain.
 * A lost lease stops the process with exit 1, as upstream's does.
 */
import { createLogger } from '../runtime/logger.js';
import { Shutdown } from '../runtime/shutdown.js';
import { startController } from './controller-manager.js';
import { loadCloudConfig, loadKubeConfig } from './inputs.js';
import { quote } from '../contract/quote.js';
import { checkBuiltinConfig } from '../providers/registry.js';
import { buildConfig, ConfigError, type RawFlags } from './options/config.js';

/**
 * Every input is read and checked before anything is bound or started, and every problem is
 * reported at once (exit 2): an unknown option, a bad flag, an unreadable kubeconfig or
 * cloud-config, and a built-in provider's refusal of its cloud-config. Else a taken metrics port
 * (exit 1) would hide a bad key, and `--bogus` every other mistake.
 */
export async function runControllerManager(
  flags: RawFlags,
  version: string,
  unknown: readonly string[] = [],
): Promise<void> {
  const errors = unknownArguments(unknown);
  const config = collect(errors, () => buildConfig(flags));
  const kubeConfig = collect(errors, () => loadKubeConfig(flags.kubeconfig as string | undefined));
  const cloudConfig = collect(errors, () =>
    loadCloudConfig(flags['cloud-config'] as string | undefined),
  );
  const providerName = flags['cloud-provider'];
  if (typeof providerName === 'string' && cloudConfig) {
    const refused = await checkBuiltinConfig(providerName, cloudConfig);
    if (refused) errors.push(`--cloud-config: ${refused}`);
  }
  if (errors.length || !config || !kubeConfig || !cloudConfig) throw new ConfigError(errors);
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
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

/** `fn`'s value, or undefined with its ConfigError's messages added to `errors`. */
function collect<T>(errors: string[], fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    errors.push(...err.errors);
    return undefined;
  }
}

/** What commander left over: options it does not know, and arguments `run` does not take. */
export function unknownArguments(args: readonly string[]): string[] {
  return args.map((arg) =>
    arg.startsWith('-')
      ? `${quote(arg.split('=')[0])}: unknown option`
      : `${quote(arg)}: unexpected argument (run takes none)`,
  );
}
