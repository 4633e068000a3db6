import assert from 'node:assert/strict';
import { ProviderConfigError } from '../../../../contract/errors.js';
import { parseLocalConfig } from '../../../../providers/local/config.js';

describe('local cloud-config', () => {
  it('fills defaults around the required address list', () => {
    const config = parseLocalConfig({ addresses: ['127.240.0.0/16'] });
    assert.equal(config.mode, 'in-process');
    assert.equal(config.addresses.length, 1);
    assert.equal(config.tcpIdleTimeoutMs, 300_000);
    assert.equal(config.healthCheck.intervalMs, 5000);
    assert.ok(Object.isFrozen(config));
  });

  const cases: { desc: string; raw: Record<string, unknown>; key: string }[] = [
    { desc: 'a missing address list', raw: {}, key: 'addresses' },
    { desc: 'an empty address list', raw: { addresses: [] }, key: 'addresses' },
    { desc: 'a bad address', raw: { addresses: ['127.240.0.0/16', 'nope'] }, key: 'addresses[1]' },
    { desc: 'an unknown key', raw: { addresses: ['10.0.0.0/8'], adresses: [] }, key: 'adresses' },
    {
      desc: 'an unknown health-check key',
      raw: { addresses: ['10.0.0.0/8'], healthCheck: { interval: 3 } },
      key: 'healthCheck.interval',
    },
    { desc: 'an unknown mode', raw: { addresses: ['10.0.0.0/8'], mode: 'agent' }, key: 'mode' },
    {
      desc: 'a non-positive limit',
      raw: { addresses: ['10.0.0.0/8'], maxConnections: 0 },
      key: 'maxConnections',
    },
    {
      desc: 'a negative listen-port offset',
      raw: { addresses: ['10.0.0.0/8'], listenPortOffset: -1 },
      key: 'listenPortOffset',
    },
  ];
  for (const c of cases) {
    it(`rejects ${c.desc}, naming the key`, () => {
      assert.throws(
        () => parseLocalConfig(c.raw),
        (err: unknown) => err instanceof ProviderConfigError && err.key === c.key,
      );
    });
  }
});
