import assert from 'node:assert/strict';
import { createProvider } from '../../../../providers/registry.js';
import { ProviderConfigError } from '../../../../contract/errors.js';
import { CloudCallGate } from '../../../../runtime/cloud-calls.js';
import { noopLogger } from '../../../../contract/logger.js';

const options = (config: Record<string, unknown>) => ({
  config,
  clusterName: 'prod',
  logger: noopLogger,
  cloudCalls: new CloudCallGate(),
  cluster: { services: () => [], nodes: () => [] },
});

describe('aws provider factory', () => {
  it('is found by name, declares its capabilities, and makes no call to start', async () => {
    const calls = new CloudCallGate();
    const provider = await createProvider('aws', {
      ...options({ region: 'eu-west-1' }),
      cloudCalls: calls,
    });
    try {
      assert.equal(provider.name, 'aws');
      assert.deepEqual(
        { ...provider.capabilities },
        {
          targetsNodePorts: true,
          protocols: ['TCP', 'UDP'],
          mixedProtocols: true,
          requestedIP: false,
          sourceRanges: true,
          dualStack: true,
          needsProviderID: true,
          ipMode: 'VIP',
        },
      );
      assert.equal(calls.totalCalls, 0);
    } finally {
      await provider.close?.();
    }
  });

  it('refuses credentials in the cloud-config as a config error naming the key', async () => {
    await assert.rejects(
      createProvider('aws', options({ credentials: { accessKeyId: 'AKIA...' } })),
      // By name, as the registry checks it: under tsx a dynamic import may load errors.ts twice.
      (err: unknown) =>
        err instanceof Error &&
        err.name === ProviderConfigError.name &&
        (err as ProviderConfigError).key === 'credentials',
    );
  });
});
