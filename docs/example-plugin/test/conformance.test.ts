/**
 * Runs kube-lbc's conformance kit on this provider. In a published plugin the import reads
 * `from 'kube-lbc/conformance'`; inside the kube-lbc repository it is a relative path.
 */
import { describeProviderConformance } from '../../../providers/conformance/index.js';
import { AddressBook, createStaticIPProvider } from '../src/index.js';

let book = new AddressBook();

describeProviderConformance({
  name: 'static-ip',
  createProvider: (options) => createStaticIPProvider(book)(options),
  // Addresses are stable attributes here (the first free one of the pool), so they stay in.
  inventory: async () => book.snapshot(),
  reset: async () => {
    book = new AddressBook();
  },
  config: { addresses: ['203.0.113.10', '203.0.113.11', '203.0.113.12'] },
  maxNameLength: 63,
});
