import assert from 'node:assert/strict';
import { annotation, parseAnnotations } from '../../../../providers/aws/annotations.js';
import { desiredLoadBalancer } from '../../../../providers/aws/desired.js';
import { newService, tweakAnnotations } from '../../../fixtures/builders.js';

const parse = (a: Record<string, string>) =>
  parseAnnotations(newService('web', tweakAnnotations(a)));
const fieldsOf = (a: Record<string, string>) => parse(a).errors.map((e) => e.field);
const field = (key: string) => `metadata.annotations[${key}]`;

describe('aws target group attributes', () => {
  it('gives every target group AWS defaults when the Service sets nothing', () => {
    const d = desiredLoadBalancer('prod', newService('web'));
    assert.deepEqual(d.targetGroups[0]!.attributes, { 'proxy_protocol_v2.enabled': 'false' });
  });

  it('turns proxy protocol v2 on for every target group with proxy-protocol "*"', () => {
    const svc = newService('web', tweakAnnotations({ [annotation.proxyProtocol]: ' * ' }));
    svc.spec!.ports!.push({ name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 });
    const d = desiredLoadBalancer('prod', svc);
    assert.deepEqual(
      d.targetGroups.map((tg) => tg.attributes['proxy_protocol_v2.enabled']),
      ['true', 'true'],
    );
  });

  for (const value of ['true', '', 'http', '80']) {
    it(`refuses proxy-protocol "${value}", naming it`, () => {
      assert.deepEqual(fieldsOf({ [annotation.proxyProtocol]: value }), [
        field(annotation.proxyProtocol),
      ]);
    });
  }
});
