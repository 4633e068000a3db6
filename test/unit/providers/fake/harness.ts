/** Builds a fake provider over a fresh fake cloud, with a context that records nothing. */
import { CloudCallGate } from '../../../../runtime/cloud-calls.js';
import { noopLogger } from '../../../../contract/logger.js';
import {
  createFakeCloud,
  createFakeProvider,
  type FakeCloud,
  type FakeCloudOptions,
  type FakeProviderOptions,
} from '../../../../providers/fake/index.js';
import type { CallContext, LoadBalancerProvider } from '../../../../contract/provider.js';

export interface FakeHarness {
  cloud: FakeCloud;
  provider: LoadBalancerProvider;
  gate: CloudCallGate;
  ctx: CallContext;
  /** A new provider over the same cloud: what a controller restart sees. */
  restart(): Promise<LoadBalancerProvider>;
}

export interface FakeHarnessOptions {
  cloud?: FakeCloudOptions;
  provider?: FakeProviderOptions;
  /** The `--cloud-config` given to the factory. */
  config?: Record<string, unknown>;
  gate?: CloudCallGate;
}

export async function newFakeHarness(options: FakeHarnessOptions = {}): Promise<FakeHarness> {
  const cloud = createFakeCloud(options.cloud);
  const gate = options.gate ?? new CloudCallGate();
  const start = () =>
    createFakeProvider(
      cloud,
      options.provider,
    )({
      config: options.config ?? {},
      clusterName: 'test',
      logger: noopLogger,
      cloudCalls: gate,
      cluster: { services: () => [], nodes: () => [] },
    });
  const ctx: CallContext = {
    signal: new AbortController().signal,
    logger: noopLogger,
    recordEvent: () => {},
  };
  return { cloud, provider: await start(), gate, ctx, restart: start };
}
