/** `--cloud-provider aws`: registered by name, loaded by dynamic import. */
import type { ProviderFactory } from '../../contract/provider.js';
import { createAwsClients } from './clients.js';
import { parseAwsConfig } from './config.js';
import { AwsProvider } from './provider.js';

export { AwsProvider } from './provider.js';
export { awsCallBudgets } from './clients.js';

export const createAwsProvider: ProviderFactory = async (options) => {
  const config = parseAwsConfig(options.config);
  const clients = createAwsClients(config, options.cloudCalls);
  return new AwsProvider({ clients, clusterName: options.clusterName, config });
};

export default createAwsProvider;
