/**
 * The built-in `fake` provider: an in-memory, recording cloud for tests, benchmarks and the
 * sandbox. `createFakeProvider(cloud)` builds a factory over a given cloud, so a test can
 * "restart" the controller with a new provider over the same cloud and inspect `cloud.calls`.
 * The registry's `fake` entry uses one cloud per process (`sharedFakeCloud()`).
 */
import type { CallBudget, Capabilities, ProviderFactory } from '../../contract/provider.js';
import { FakeCloud, createFakeCloud } from './cloud.js';
import { parseFakeConfig } from './config.js';
import { RemoteFakeCloud } from './remote-cloud.js';
import { FakeProvider, defaultFakeCapabilities } from './provider.js';

export { FakeCloud, createFakeCloud, isFakeWrite, lostAnswerCode, throttledCode } from './cloud.js';
export { startFakeCloudServer, type FakeCloudServer } from './cloud-server.js';
export { RemoteFakeCloud } from './remote-cloud.js';
export type {
  FakeCall,
  FakeCloudApi,
  FakeCloudOptions,
  FakeLoadBalancer,
  FakeOperation,
  FakePort,
} from './cloud.js';
export type { IngressMode } from './addresses.js';
export { FakeProvider, defaultFakeCapabilities } from './provider.js';
export { failValidationAnnotation, optionAnnotation, optionValues } from './validation.js';

export interface FakeProviderOptions {
  /** Merged over `defaultFakeCapabilities`; the cloud-config `capabilities` key wins over these. */
  capabilities?: Partial<Capabilities>;
  /** @default `{ default: UNLIMITED_BUDGET }` */
  callBudgets?: Readonly<Record<string, CallBudget>> & { readonly default: CallBudget };
}

/**
 * A factory for providers over `cloud`. The cloud-config keys `latencyMs`, `failureRate`,
 * `throttleRate`, `throttleBurst`, `lostAnswerRate`, `ingress` and `provisioningDelayMs` set the
 * cloud's switches when a provider starts (keys left out leave the cloud as it is);
 * `capabilities` sets the provider's. With `cloudUrl` the provider works on the cloud served
 * there instead, and `cloud` is not used.
 */
export function createFakeProvider(
  cloud: FakeCloud = sharedFakeCloud(),
  options: FakeProviderOptions = {},
): ProviderFactory {
  return async (providerOptions) => {
    const config = parseFakeConfig(providerOptions.config);
    const capabilities = Object.freeze({
      ...defaultFakeCapabilities,
      ...options.capabilities,
      ...config.capabilities,
    });
    const callBudgets = options.callBudgets ? { callBudgets: options.callBudgets } : {};
    if (config.cloudUrl) {
      return new FakeProvider({
        cloud: new RemoteFakeCloud({
          url: config.cloudUrl,
          provisioningDelayMs: config.provisioningDelayMs,
        }),
        cloudCalls: providerOptions.cloudCalls,
        capabilities,
        ...callBudgets,
      });
    }
    if (config.latencyMs !== undefined) cloud.latencyMs = config.latencyMs;
    if (config.failureRate !== undefined) cloud.failureRate = config.failureRate;
    if (config.throttleRate !== undefined) cloud.throttleRate = config.throttleRate;
    if (config.throttleBurst !== undefined) cloud.throttleBurst = config.throttleBurst;
    if (config.lostAnswerRate !== undefined) cloud.lostAnswerRate = config.lostAnswerRate;
    if (config.ingress !== undefined) cloud.ingress = config.ingress;
    if (config.provisioningDelayMs !== undefined) {
      cloud.provisioningDelayMs = config.provisioningDelayMs;
    }
    return new FakeProvider({
      cloud,
      cloudCalls: providerOptions.cloudCalls,
      capabilities,
      ...callBudgets,
    });
  };
}

let processCloud: FakeCloud | undefined;

/** The cloud behind the registry's `fake` entry: one per process, made on first use. */
export function sharedFakeCloud(): FakeCloud {
  processCloud ??= createFakeCloud();
  return processCloud;
}

/** The plugin-style entry point: a factory over the process-wide cloud. */
export const createProvider: ProviderFactory = (options) => createFakeProvider()(options);
export default createProvider;
