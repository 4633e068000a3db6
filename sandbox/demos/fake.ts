/** The fake cloud (and any plugin without a demo of its own): addresses that carry no traffic. */
import { sandboxNodes, type DemoSetup, type ProviderDemo } from './types.js';

export const genericDemo: DemoSetup = async () => ({
  cloudConfig: {},
  nodes: sandboxNodes(
    (i) => `127.0.0.${10 + i}`,
    (name) => `sandbox://${name}`,
  ),
  carriesTraffic: false,
  close: async () => {},
});

export const fakeDemo: DemoSetup = async (ctx): Promise<ProviderDemo> => {
  ctx.say(
    'provider fake: an in-memory cloud; its addresses (192.0.2.0/24, TEST-NET-1) carry no traffic',
  );
  return genericDemo(ctx);
};
