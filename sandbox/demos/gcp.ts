/**
 * GCP: the Compute Engine emulator stands in for the cloud, seeded with one instance per node so
 * the nodes' `gce://` providerIDs name real instances. Its addresses carry no traffic here.
 */
import { ComputeEmulator } from '../compute/index.js';
import { sandboxNodes, type DemoSetup, type ProviderDemo } from './types.js';

export const gcpDemo: DemoSetup = async (ctx): Promise<ProviderDemo> => {
  const compute = await ComputeEmulator.start();
  const zone = compute.zones[0]!;
  const nodes = sandboxNodes(
    (i) => `127.0.0.${10 + i}`,
    (name) => `gce://${compute.project}/${zone}/${name}`,
  );
  for (const n of nodes) {
    compute.seedInstance({ name: n.name, zone, tags: ['sandbox-node'], networkIP: n.ip });
  }
  ctx.say(
    `provider gcp: the Compute Engine emulator at ${compute.endpoint}; its addresses carry no traffic`,
  );
  return {
    cloudConfig: {
      project: compute.project,
      region: compute.region,
      apiEndpoint: compute.endpoint,
    },
    nodes,
    carriesTraffic: false,
    describeCloud: () => [
      `\nin the Compute emulator (${compute.endpoint}):`,
      ...compute.inventory().map((r) => `  ${String(r.collection).padEnd(16)} ${String(r.name)}`),
    ],
    close: () => compute.close(),
  };
};
