import assert from 'node:assert/strict';
import { startupSummary } from '../../../app/run.js';
import { configFromArgs } from '../../../app/options/flags.js';

describe('the start-up line', () => {
  const config = configFromArgs([
    '--cloud-provider',
    'aws',
    '--cluster-name',
    'prod',
    '--cloud-qps',
    '5',
  ]);

  it('names the version, Node and every effective flag', () => {
    const line = startupSummary('1.2.3', config, {}) as {
      version: string;
      node: string;
      config: Record<string, unknown>;
    };
    assert.equal(line.version, '1.2.3');
    assert.equal(line.node, process.version);
    assert.equal(line.config.cloudProvider, 'aws');
    assert.equal(line.config.clusterName, 'prod');
    assert.equal(line.config.cloudQps, 5);
    assert.equal(line.config.concurrentServiceSyncs, 50);
  });

  it('shows the cloud-config with secret-looking values hidden, nested ones too', () => {
    const line = startupSummary('1.2.3', config, {
      region: 'eu-west-1',
      secretAccessKey: 'AKIA-not-shown',
      plugin: { apiToken: 'not-shown', endpoints: [{ password: 'not-shown', url: 'https://x' }] },
    });
    assert.deepEqual(line.cloudConfig, {
      region: 'eu-west-1',
      secretAccessKey: '<redacted>',
      plugin: { apiToken: '<redacted>', endpoints: [{ password: '<redacted>', url: 'https://x' }] },
    });
    assert.doesNotMatch(JSON.stringify(line), /not-shown/);
  });
});
