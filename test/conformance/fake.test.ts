/** The built-in fake provider passes the conformance kit, with each capability it can vary. */
import { describeProviderConformance } from '../../providers/conformance/index.js';
import { createFakeCloud, createFakeProvider, isFakeWrite } from '../../providers/fake/index.js';
import type { FakeCloud } from '../../providers/fake/index.js';

/** The cloud's state as stable attributes: addresses are allocated anew on each create. */
function inventoryOf(cloud: FakeCloud) {
  return async () =>
    cloud.loadBalancers().map(({ name, tags, ports, sourceRanges, option, nodes }) => ({
      name,
      tags,
      ports,
      sourceRanges,
      option,
      nodes,
    }));
}

for (const targetsNodePorts of [true, false]) {
  let cloud: FakeCloud = createFakeCloud();
  describeProviderConformance({
    name: `fake (targetsNodePorts: ${targetsNodePorts})`,
    createProvider: (options) =>
      createFakeProvider(cloud, { capabilities: { targetsNodePorts } })(options),
    inventory: () => inventoryOf(cloud)(),
    reset: async () => {
      cloud = createFakeCloud();
    },
    isWrite: isFakeWrite,
    maxNameLength: 63,
  });
}

describe('fake provider conformance with the default write detection', () => {
  const cloud = createFakeCloud({ ingress: 'hostname' });
  describeProviderConformance({
    name: 'fake (hostname ingress)',
    createProvider: createFakeProvider(cloud),
    inventory: inventoryOf(cloud),
  });
});
