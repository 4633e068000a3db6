/** `--cloud-provider gcp`: registered by name, loaded by dynamic import. */
import { gcpMetadata, GoogleAuth } from 'google-auth-library';
import { ProviderConfigError } from '../../contract/errors.js';
import type { ProviderFactory } from '../../contract/provider.js';
import { createClients, GcpCalls } from './clients.js';
import { parseGcpConfig, type GcpConfig } from './config.js';
import { GcpProvider } from './provider.js';

export { GcpProvider } from './provider.js';
export { gcpCallBudgets } from './clients.js';

export const createGcpProvider: ProviderFactory = async (options) => {
  const config = parseGcpConfig(options.config);
  const { project, region } = await locate(config);
  const calls = new GcpCalls(createClients(config), options.cloudCalls, project, region);
  return new GcpProvider({
    calls,
    clusterName: options.clusterName,
    config,
    project,
    region,
  });
};

export default createGcpProvider;

/** Project and region from the config, else from ADC and the metadata server (on GCE). */
async function locate(config: GcpConfig): Promise<{ project: string; region: string }> {
  let project = config.project;
  if (!project) {
    project = (await new GoogleAuth().getProjectId().catch(() => undefined)) ?? undefined;
    if (!project)
      throw new ProviderConfigError(
        'project',
        'not set, and Application Default Credentials name no project',
      );
  }
  let region = config.region;
  if (!region) {
    const zone = (await gcpMetadata.instance('zone').catch(() => undefined)) as string | undefined;
    region = zone
      ?.split('/')
      .pop()
      ?.replace(/-[a-z]$/, '');
    if (!region)
      throw new ProviderConfigError(
        'region',
        'not set, and no metadata server to ask (not on GCE)',
      );
  }
  return { project, region };
}
