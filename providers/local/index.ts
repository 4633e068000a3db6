/** The `local` provider: an address pool and an embedded L4 load balancer. */
import type { ProviderFactory } from '../../contract/provider.js';
import { parseLocalConfig } from './config.js';
import { DataPath } from './data-path.js';
import { LocalProvider } from './provider.js';

export const createLocalProvider: ProviderFactory = async (options) => {
  const config = parseLocalConfig(options.config);
  const dataPath =
    config.mode === 'in-process'
      ? new DataPath({ ...config, logger: options.logger.child({ provider: 'local' }) })
      : undefined;
  return new LocalProvider(options, config, dataPath);
};

/**
 * A factory whose providers all serve through one given data path, which outlives them: what a
 * restart looks like to the conformance kit, where the data path plays the cloud.
 */
export function sharedDataPathFactory(dataPath: DataPath): ProviderFactory {
  return async (options) => {
    const config = parseLocalConfig(options.config);
    return new LocalProvider(
      options,
      config,
      config.mode === 'in-process' ? dataPath : undefined,
      false,
    );
  };
}

export { DataPath } from './data-path.js';

export { LocalProvider } from './provider.js';
export { parseLocalConfig, type LocalConfig } from './config.js';
export { runProxyAgent } from './agent.js';
