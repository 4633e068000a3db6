/** The GCP provider passes the shared provider conformance kit, against the Compute emulator. */
import { describeProviderConformance } from '../../../providers/conformance/index.js';
import { createGcpProvider } from '../../../providers/gcp/index.js';
import type { ComputeEmulator } from '../../../sandbox/compute/index.js';
import { gcpConfig, inventoryOf, seedNodes, widened } from './harness.js';
import { ComputeEmulator as Emulator } from '../../../sandbox/compute/index.js';

describe('gcp provider conformance against the Compute emulator', function () {
  this.timeout(60_000);
  let emu: ComputeEmulator;
  before(async () => {
    emu = await Emulator.start({ project: 'kube-lbc-test', region: 'us-central1', port: 0 });
  });
  after(async () => {
    await emu?.close();
  });

  describeProviderConformance({
    name: 'gcp',
    createProvider: async (options) =>
      Object.assign(await createGcpProvider({ ...options, config: gcpConfig(emu) }), {
        callBudgets: widened,
      }),
    reset: async () => {
      for (const { scope, collection, item } of [...emu.state.all()]) {
        if (collection !== 'networks' && collection !== 'subnetworks')
          emu.state.remove(scope, collection, item.name);
      }
      seedNodes(emu);
    },
    tweakNode: (node, index) => {
      node.spec = {
        ...node.spec,
        providerID: `gce://${emu.project}/${emu.zones[0]}/node-${index + 1}`,
      };
    },
    nodeCount: 3,
    maxNameLength: 63,
    inventory: async () => inventoryOf(emu),
    timeoutMs: 60_000,
  });
});
