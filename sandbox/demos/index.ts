/**
 * Provider name -> its sandbox demo, loaded on demand like the providers themselves. A provider
 * with no entry (a plugin) gets the generic demo: nodes with `sandbox://` providerIDs, no
 * cloud-config, no traffic step.
 */
import type { DemoSetup } from './types.js';

export type { DemoContext, DemoNode, ProviderDemo, DemoSetup } from './types.js';

const demos: Readonly<Record<string, () => Promise<DemoSetup>>> = {
  local: async () => (await import('./local.js')).localDemo,
  fake: async () => (await import('./fake.js')).fakeDemo,
  aws: async () => (await import('./aws.js')).awsDemo,
  gcp: async () => (await import('./gcp.js')).gcpDemo,
};

export async function demoFor(provider: string): Promise<DemoSetup> {
  const load = demos[provider] ?? (async () => (await import('./fake.js')).genericDemo);
  return load();
}
