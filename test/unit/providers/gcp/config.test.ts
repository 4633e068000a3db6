import assert from 'node:assert/strict';
import { ProviderConfigError } from '../../../../contract/errors.js';
import { parseGcpConfig } from '../../../../providers/gcp/config.js';

describe('gcp cloud-config', () => {
  it('accepts every documented key', () => {
    const config = parseGcpConfig({
      project: 'my-project-1',
      region: 'europe-west1',
      network: 'vpc-1',
      subnetwork: 'nodes',
      nodeTags: ['gke-node'],
      apiEndpoint: 'http://127.0.0.1:8090',
    });
    assert.deepEqual(config.nodeTags, ['gke-node']);
    assert.equal(config.region, 'europe-west1');
  });

  const refused: [string, Record<string, unknown>, string][] = [
    ['an unknown key', { zone: 'us-central1-a' }, 'zone'],
    ['a credentials file', { credentialsFile: '/sa.json' }, 'credentialsFile'],
    ['a private key', { private_key: 'x' }, 'private_key'],
    ['a token', { accessToken: 'x' }, 'accessToken'],
    ['a bad region', { region: 'us-central1-a' }, 'region'],
    ['bad node tags', { nodeTags: ['Not_A_Tag'] }, 'nodeTags'],
    ['a non-URL endpoint', { apiEndpoint: 'compute.googleapis.com' }, 'apiEndpoint'],
    ['an empty project', { project: '' }, 'project'],
  ];
  for (const [desc, raw, key] of refused) {
    it(`refuses ${desc}, naming the key`, () => {
      assert.throws(
        () => parseGcpConfig(raw),
        (err: unknown) => err instanceof ProviderConfigError && err.key === key,
      );
    });
  }
});
