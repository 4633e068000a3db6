import assert from 'node:assert/strict';
import {
  loadBalancerName,
  targetGroupName,
  targetGroupPrefix,
} from '../../../../providers/aws/names.js';
import { newService } from '../../../fixtures/builders.js';

const valid = /^(?!.*--)[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]$/;

describe('aws resource names', () => {
  it('name the NLB from cluster and UID, within 32 characters', () => {
    const svc = newService('a-very-long-service-name-that-goes-on-and-on');
    const name = loadBalancerName('prod', svc);
    assert.equal(name.length, 32);
    assert.match(name, valid);
    assert.equal(loadBalancerName('prod', structuredClone(svc)), name);
    assert.notEqual(loadBalancerName('staging', svc), name);
    assert.notEqual(loadBalancerName('prod', newService(svc.metadata!.name!)), name);
  });

  it('name target groups per port, protocol and node port, within 32 characters, under the Service prefix', () => {
    const longest = targetGroupName('prod', 'uid-1', 65535, 'TCP_UDP', 32767);
    assert.ok(longest.length <= 32, longest);
    assert.match(longest, valid);
    assert.ok(longest.startsWith(targetGroupPrefix('prod', 'uid-1')));
    const names = new Set([
      targetGroupName('prod', 'uid-1', 53, 'UDP', 30053),
      targetGroupName('prod', 'uid-1', 53, 'TCP', 30053),
      targetGroupName('prod', 'uid-1', 53, 'TCP', 30054),
      targetGroupName('prod', 'uid-2', 53, 'TCP', 30053),
      targetGroupName('dev', 'uid-1', 53, 'TCP', 30053),
    ]);
    assert.equal(names.size, 5);
  });
});
