/**
 * `kube-lbc run`: flags to a frozen Config, then the controller manager under a signal drain.
 * A lost lease stops the process with exit 1, as upstream's does. The first log line names the
 * version and the effective configuration, so a bug report carries both.
 */
import { createLogger } from '../runtime/logger.js';
import { Shutdown } from '../runtime/shutdown.js';
import { startController } from './controller-manager.js';
import { loadCloudConfig, loadClusterAccess } from './inputs.js';
import { quote } from '../contract/quote.js';
import { checkBuiltinConfig } from '../providers/registry.js';
import {
  buildConfig,
  collectConfigErrors as collect,
  ConfigError,
  type Config,
  type RawFlags,
} from './options/config.js';

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
  const cluster = collect(errors, () => loadClusterAccess(flags.kubeconfig as string | undefined));
  const cloudConfig = collect(errors, () =>
    loadCloudConfig(flags['cloud-config'] as string | undefined),
  );
  const providerName = flags['cloud-provider'];
  if (typeof providerName === 'string' && cloudConfig) {
    const refused = await checkBuiltinConfig(providerName, cloudConfig);
    if (refused) errors.push(`--cloud-config: ${refused}`);
  }
  if (errors.length || !config || !cluster || !cloudConfig) throw new ConfigError(errors);
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  logger.info(startupSummary(version, config, cloudConfig), 'starting kube-lbc');
  const shutdown = new Shutdown({ drainTimeoutMs: config.shutdownGracePeriodMs, logger }).install();
  const running = await startController(config, {
    cluster,
    cloudConfig,
    logger,
    version,
    onLostLeadership: () => void shutdown.shutdown('leader election lost', 1),
  });
  shutdown.onShutdown('controller', () => running.stop());
}

/** What commander left over: options it does not know, and arguments `run` does not take. */
export function unknownArguments(args: readonly string[]): string[] {
  return args.map((arg) =>
    arg.startsWith('-')
      ? `${quote(arg.split('=')[0])}: unknown option`
      : `${quote(arg)}: unexpected argument (run takes none)`,
  );
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
