import assert from 'node:assert/strict';
import { annotation, parseAnnotations } from '../../../../providers/aws/annotations.js';
import { mappingsFingerprint } from '../../../../providers/aws/subnet-mappings.js';
import { newService, tweakAnnotations } from '../../../fixtures/builders.js';

const parse = (a: Record<string, string>) =>
  parseAnnotations(newService('web', tweakAnnotations(a)));
const field = (key: string) => `metadata.annotations[${key}]`;

describe('aws subnet mappings', () => {
  it('reads EIP allocations for internet-facing and private IPv4 addresses for internal NLBs', () => {
    assert.deepEqual(
      parse({ [annotation.eipAllocations]: 'eipalloc-0a, eipalloc-0b' }).settings.subnetMappings,
      {
        kind: 'eip',
        values: ['eipalloc-0a', 'eipalloc-0b'],
      },
    );
    const internal = parse({
      [annotation.internal]: 'true',
      [annotation.privateIpv4Addresses]: '10.0.1.5,10.0.2.5',
    });
    assert.deepEqual(internal.errors, []);
    assert.deepEqual(internal.settings.subnetMappings, {
      kind: 'private-ipv4',
      values: ['10.0.1.5', '10.0.2.5'],
    });
  });

  const bad: [string, Record<string, string>, string][] = [
    [
      'EIPs on an internal NLB',
      { [annotation.scheme]: 'internal', [annotation.eipAllocations]: 'eipalloc-0a' },
      annotation.eipAllocations,
    ],
    [
      'private addresses on an internet-facing NLB',
      { [annotation.privateIpv4Addresses]: '10.0.1.5' },
      annotation.privateIpv4Addresses,
    ],
    [
      'an IPv6 private address',
      { [annotation.internal]: 'true', [annotation.privateIpv4Addresses]: 'fd00::1' },
      annotation.privateIpv4Addresses,
    ],
    [
      'an address twice',
      { [annotation.eipAllocations]: 'eipalloc-0a,eipalloc-0a' },
      annotation.eipAllocations,
    ],
    ['an empty list', { [annotation.eipAllocations]: ' , ' }, annotation.eipAllocations],
    [
      'more addresses than named subnets',
      { [annotation.subnets]: 'subnet-01', [annotation.eipAllocations]: 'eipalloc-0a,eipalloc-0b' },
      annotation.eipAllocations,
    ],
    [
      'both kinds at once',
      {
        [annotation.internal]: 'true',
        [annotation.eipAllocations]: 'eipalloc-0a',
        [annotation.privateIpv4Addresses]: '10.0.1.5',
      },
      annotation.eipAllocations,
    ],
  ];
  for (const [desc, a, key] of bad) {
    it(`refuses ${desc}, naming the annotation`, () => {
      assert.ok(
        parse(a).errors.some((e) => e.field === field(key)),
        JSON.stringify(parse(a).errors),
      );
    });
  }

  it('leaves one tag less for additional-resource-tags, since the NLB records its mappings in one', () => {
    const tags = Array.from({ length: 47 }, (_, i) => `k${i}=v`).join(',');
    assert.deepEqual(parse({ [annotation.additionalTags]: tags }).errors, []);
    assert.deepEqual(
      parse({
        [annotation.additionalTags]: tags,
        [annotation.eipAllocations]: 'eipalloc-0a',
      }).errors.map((e) => e.field),
      [field(annotation.additionalTags)],
    );
  });

  it('fingerprints the addresses with the subnets they pair with, and nothing without them', () => {
    const eip = (a: Record<string, string>) => mappingsFingerprint(parse(a).settings);
    assert.equal(eip({}), undefined);
    const base = eip({ [annotation.eipAllocations]: 'eipalloc-0a,eipalloc-0b' });
    assert.equal(eip({ [annotation.eipAllocations]: 'eipalloc-0a, eipalloc-0b' }), base);
    assert.notEqual(eip({ [annotation.eipAllocations]: 'eipalloc-0b,eipalloc-0a' }), base);
    assert.notEqual(
      eip({ [annotation.eipAllocations]: 'eipalloc-0a,eipalloc-0b', [annotation.subnets]: 'a,b' }),
      base,
    );
  });
});
