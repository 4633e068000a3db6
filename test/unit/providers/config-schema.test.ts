import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { awsConfigSchema, parseAwsConfig } from '../../../providers/aws/config.js';
import { configTable } from '../../../providers/config-schema.js';
import { ProviderConfigError } from '../../../contract/errors.js';
import { fakeConfigSchema, parseFakeConfig } from '../../../providers/fake/config.js';
import { localConfigSchema, parseLocalConfig } from '../../../providers/local/config.js';

const parsers = { local: parseLocalConfig, fake: parseFakeConfig, aws: parseAwsConfig };

/** Each case is a cloud-config file as written (YAML), the key blamed and the range stated. */
const refused: { provider: keyof typeof parsers; yaml: string; key: string; message: RegExp }[] = [
  // `.inf` reached the TCP proxy's setTimeout and killed the process on the first connection.
  {
    provider: 'local',
    yaml: 'addresses: [127.240.0.0/24]\ntcpIdleTimeoutSeconds: .inf',
    key: 'tcpIdleTimeoutSeconds',
    message: /from 0\.01 to 2147483, got Infinity/,
  },
  {
    provider: 'local',
    yaml: 'addresses: [127.240.0.0/24]\nudpIdleTimeoutSeconds: .nan',
    key: 'udpIdleTimeoutSeconds',
    message: /from 0\.01 to 2147483, got NaN/,
  },
  // Past 2^31 - 1 ms Node's timer fires after 1 ms: thousands of health checks a second.
  {
    provider: 'local',
    yaml: 'addresses: [127.240.0.0/24]\nhealthCheck: { intervalSeconds: 2147484 }',
    key: 'healthCheck.intervalSeconds',
    message: /from 0\.01 to 2147483, got 2147484/,
  },
  {
    provider: 'local',
    yaml: 'addresses: [127.240.0.0/24]\nhealthCheck: { intervalSeconds: .inf }',
    key: 'healthCheck.intervalSeconds',
    message: /to 2147483/,
  },
  {
    provider: 'local',
    yaml: 'addresses: [127.240.0.0/24]\nhealthCheck: { timeoutSeconds: -1 }',
    key: 'healthCheck.timeoutSeconds',
    message: /to 2147483/,
  },
  {
    provider: 'local',
    yaml: 'addresses: [127.240.0.0/24]\nhealthCheck: { unhealthyThreshold: 1.5 }',
    key: 'healthCheck.unhealthyThreshold',
    message: /an integer from 1 to 100/,
  },
  {
    provider: 'local',
    yaml: 'addresses: [127.240.0.0/24]\nhealthCheck: { healthyThreshold: 1000 }',
    key: 'healthCheck.healthyThreshold',
    message: /an integer from 1 to 100/,
  },
  {
    provider: 'local',
    yaml: 'addresses: [127.240.0.0/24]\nmaxConnections: 0.5',
    key: 'maxConnections',
    message: /an integer from 1 to 1000000, got 0\.5/,
  },
  {
    provider: 'local',
    yaml: "addresses: [127.240.0.0/24]\nmaxConnections: '100'",
    key: 'maxConnections',
    message: /an integer from 1 to 1000000, got "100"/,
  },
  {
    provider: 'local',
    yaml: 'addresses: [127.240.0.0/24]\nlistenPortOffset: 70000',
    key: 'listenPortOffset',
    message: /an integer from 0 to 60000/,
  },
  {
    provider: 'local',
    yaml: 'addresses: [0.0.0.0/0]',
    key: 'addresses[0]',
    message: /more than 16777216/,
  },
  {
    provider: 'local',
    yaml: 'addresses: [0.0.0.0/8]',
    key: 'addresses[0]',
    message: /overlaps 0\.0\.0\.0\/8/,
  },
  {
    provider: 'local',
    yaml: 'addresses: [127.240.0.0/24, 224.0.0.1-224.0.0.9]',
    key: 'addresses[1]',
    message: /224\.0\.0\.0\/4/,
  },
  {
    provider: 'local',
    yaml: 'addresses: [255.255.255.255]',
    key: 'addresses[0]',
    message: /240\.0\.0\.0\/4/,
  },
  {
    provider: 'local',
    yaml: 'addresses: [127.240.0.0/24]\nhealthCheck: 5',
    key: 'healthCheck',
    message: /expected a mapping/,
  },
  {
    provider: 'fake',
    yaml: 'latencyMs: .inf',
    key: 'latencyMs',
    message: /from 0 to 2147483000, got Infinity/,
  },
  {
    provider: 'fake',
    yaml: 'provisioningDelayMs: 1e12',
    key: 'provisioningDelayMs',
    message: /from 0 to 2147483000/,
  },
  {
    provider: 'fake',
    yaml: 'failureRate: .nan',
    key: 'failureRate',
    message: /from 0 to 1, got NaN/,
  },
  {
    provider: 'fake',
    yaml: 'capabilities: { dualStack: "yes" }',
    key: 'capabilities.dualStack',
    message: /true or false/,
  },
  { provider: 'aws', yaml: 'region: 1', key: 'region', message: /an AWS region name/ },
  { provider: 'aws', yaml: 'endpoint: "http://"', key: 'endpoint', message: /an http\(s\) URL/ },
  {
    provider: 'aws',
    yaml: 'vpcid: vpc-1',
    key: 'vpcid',
    message: /unknown key \(known: region, endpoint, vpcId, adoptFrom\)/,
  },
];

describe('cloud-config schemas', () => {
  for (const c of refused) {
    it(`${c.provider}: refuses ${JSON.stringify(c.yaml)}, naming ${c.key} and what it accepts`, () => {
      assert.throws(
        () => parsers[c.provider](parse(c.yaml) as Record<string, unknown>),
        (err: unknown) => {
          assert.ok(err instanceof ProviderConfigError, String(err));
          assert.equal(err.key, c.key);
          assert.match(err.message, c.message);
          return true;
        },
      );
    });
  }

  it('quotes a long value cut short, never whole', () => {
    const long = 'x'.repeat(10_000);
    for (const raw of [{ addresses: [long] }, { addresses: ['127.240.0.0/24'], mode: long }]) {
      assert.throws(
        () => parseLocalConfig(raw),
        (err: Error) =>
          err.message.length < 300 && /\.\.\.\(\d+ more characters\)/.test(err.message),
      );
    }
  });

  it('keeps a fractional number of seconds where seconds are meant', () => {
    const c = parseLocalConfig(
      parse('addresses: [127.240.0.0/24]\nhealthCheck: { intervalSeconds: 0.02 }') as Record<
        string,
        unknown
      >,
    );
    assert.equal(c.healthCheck.intervalMs, 20);
  });

  const documented = [
    { file: 'README.md', schema: localConfigSchema, name: 'local' },
    { file: 'README.md', schema: awsConfigSchema, name: 'aws' },
    { file: 'docs/provider-guide.md', schema: fakeConfigSchema, name: 'fake' },
  ];
  for (const d of documented) {
    it(`${d.file} carries the ${d.name} provider's table of keys as its schema declares it`, () => {
      // Prettier pads Markdown tables; compare them without the padding.
      const squeeze = (text: string) => text.replace(/ *\| */g, '|').replace(/-{3,}/g, '---');
      assert.ok(
        squeeze(readFileSync(d.file, 'utf8')).includes(squeeze(configTable(d.schema))),
        `${d.file} lacks this table (or has another):\n${configTable(d.schema)}`,
      );
    });
  }
});
