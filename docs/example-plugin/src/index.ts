/**
 * kube-lbc-example-static-ip: a provider that gives each LoadBalancer Service one address from a
 * fixed pool and points it at the nodes' NodePorts. Load it with
 * `kube-lbc run --cloud-provider kube-lbc-example-static-ip --cloud-config pool.yaml`.
 *
 * The package's entry exports `createProvider` (and the same as default): a ProviderFactory.
 */
// In a published plugin these imports read `from 'kube-lbc/errors'` and `'kube-lbc/provider'`;
// inside the kube-lbc repository the example reaches the same files by relative path.
import { ProviderConfigError } from '../../../contract/errors.js';
import type { ProviderFactory } from '../../../contract/provider.js';
import { AddressBook } from './address-book.js';
import { StaticIPProvider } from './static-ip-provider.js';

export { AddressBook } from './address-book.js';
export { StaticIPProvider } from './static-ip-provider.js';

/** `addresses: [203.0.113.10, ...]`: the pool, required. */
export function parseConfig(config: Readonly<Record<string, unknown>>): readonly string[] {
  for (const key of Object.keys(config)) {
    if (key !== 'addresses') throw new ProviderConfigError(key, 'unknown key (known: addresses)');
  }
  const addresses = config.addresses;
  if (!Array.isArray(addresses) || addresses.length === 0) {
    throw new ProviderConfigError('addresses', 'a non-empty list of IP addresses is required');
  }
  const bad = addresses.find((a) => typeof a !== 'string' || !/^\d{1,3}(\.\d{1,3}){3}$/.test(a));
  if (bad !== undefined) throw new ProviderConfigError('addresses', `not an IPv4 address: ${bad}`);
  return addresses as string[];
}

/** A factory over `book`: every provider it makes (each restart) shares the book. */
export function createStaticIPProvider(book: AddressBook): ProviderFactory {
  return async (options) =>
    new StaticIPProvider(book, parseConfig(options.config), options.cloudCalls);
}

const processBook = new AddressBook();

export const createProvider: ProviderFactory = createStaticIPProvider(processBook);
export default createProvider;
