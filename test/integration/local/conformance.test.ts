/**
 * The local provider passes the provider conformance kit. The data path plays the cloud: one
 * shared instance outlives the providers the kit restarts, and its listeners are the inventory.
 */
import { describeProviderConformance } from '../../../providers/conformance/index.js';
import { DataPath, sharedDataPathFactory } from '../../../providers/local/index.js';

// The kit's Services use ports 80 and 443; the offset keeps the test unprivileged.
const dataPathOptions = {
  maxConnections: 100,
  tcpIdleTimeoutMs: 10_000,
  udpIdleTimeoutMs: 10_000,
  listenPortOffset: 20_000,
  healthCheck: { intervalMs: 60_000, timeoutMs: 500, unhealthyThreshold: 2, healthyThreshold: 1 },
};

let dataPath = new DataPath(dataPathOptions);

describeProviderConformance({
  name: 'local (in-process)',
  createProvider: (options) => sharedDataPathFactory(dataPath)(options),
  inventory: async () => dataPath.describe(),
  reset: async () => {
    await dataPath.close();
    dataPath = new DataPath(dataPathOptions);
  },
  config: { addresses: ['127.243.60.0/24'] },
});

after(() => dataPath.close());
