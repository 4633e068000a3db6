/** The example plugin in docs/ passes the conformance kit, so the guide's example stays true. */
import { describeProviderConformance } from '../../providers/conformance/index.js';
import { ProviderConfigError } from '../../contract/errors.js';
import {
  AddressBook,
  createStaticIPProvider,
  parseConfig,
} from '../../docs/example-plugin/src/index.js';
import assert from 'node:assert/strict';

let book = new AddressBook();

describeProviderConformance({
  name: 'example plugin (static-ip)',
  createProvider: (options) => createStaticIPProvider(book)(options),
  inventory: async () => book.snapshot(),
  reset: async () => {
    book = new AddressBook();
  },
  config: { addresses: ['203.0.113.10', '203.0.113.11'] },
});

describe('example plugin cloud-config', () => {
  const rejected = [
    { config: {}, key: 'addresses' },
    { config: { addresses: ['not-an-ip'] }, key: 'addresses' },
    { config: { addresses: ['203.0.113.1'], pool: 'x' }, key: 'pool' },
  ];
  for (const c of rejected) {
    it(`rejects ${JSON.stringify(c.config)}, naming ${c.key}`, () => {
      assert.throws(
        () => parseConfig(c.config),
        (err) => err instanceof ProviderConfigError && err.key === c.key,
      );
    });
  }
});
