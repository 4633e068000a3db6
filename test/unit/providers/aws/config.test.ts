import assert from 'node:assert/strict';
import { parseAwsConfig } from '../../../../providers/aws/config.js';
import { ProviderConfigError } from '../../../../contract/errors.js';

describe('aws cloud-config', () => {
  it('accepts nothing at all (SDK chains) and the three overrides', () => {
    assert.deepEqual(parseAwsConfig({}), {});
    assert.deepEqual(
      parseAwsConfig({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:5000', vpcId: 'vpc-0abc' }),
      { region: 'eu-west-1', endpoint: 'http://127.0.0.1:5000', vpcId: 'vpc-0abc' },
    );
  });

  const bad: [string, Record<string, unknown>][] = [
    ['credentials', { credentials: { accessKeyId: 'x' } }],
    ['secretAccessKey', { secretAccessKey: 'x' }],
    ['zone', { zone: 'us-east-1a' }],
    ['region', { region: 'Mars' }],
    ['region', { region: 42 }],
    ['endpoint', { endpoint: 'ftp://x' }],
    ['vpcId', { vpcId: 'my-vpc' }],
  ];
  for (const [key, config] of bad) {
    it(`rejects ${JSON.stringify(config)}, naming ${key}`, () => {
      assert.throws(
        () => parseAwsConfig(config),
        (err: unknown) => err instanceof ProviderConfigError && err.key === key,
      );
    });
  }
});
