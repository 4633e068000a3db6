import assert from 'node:assert/strict';
import {
  pickFreePorts,
  portsMissingNodePort,
  usedNodePorts,
  withNodePorts,
} from '../../../../controllers/service/nodeports.js';
import {
  newService,
  tweakAddPorts,
  tweakLocalTraffic,
  tweakNoNodePorts,
} from '../../../fixtures/builders.js';

describe('NodePort helpers', () => {
  it('collect every NodePort and health-check NodePort in use', () => {
    const used = usedNodePorts([
      newService('a'),
      newService('b', tweakLocalTraffic(32001), (s) => (s.spec!.ports![0]!.nodePort = 30081)),
    ]);
    assert.deepEqual([...used].sort(), [30080, 30081, 32001]);
  });

  it('pick distinct free ports, skipping used ones, from the random start', () => {
    const picked = pickFreePorts(3, new Set([30001, 30002]), { min: 30000, max: 30005 }, () => 0.2);
    assert.deepEqual(picked, [30003, 30004, 30005]);
  });

  it('wrap around the range', () => {
    assert.deepEqual(
      pickFreePorts(2, new Set(), { min: 30000, max: 30002 }, () => 0.9),
      [30002, 30000],
    );
  });

  it('fail when the range is exhausted', () => {
    assert.throws(
      () => pickFreePorts(2, new Set([30000, 30001]), { min: 30000, max: 30002 }),
      /no free NodePort/,
    );
  });

  it('fill only the ports that lack one, in order', () => {
    const svc = newService(
      'a',
      tweakNoNodePorts,
      tweakAddPorts(
        { name: 'dns', port: 53, protocol: 'UDP', nodePort: 31053 },
        { name: 'x', port: 9, protocol: 'TCP' },
      ),
    );
    assert.deepEqual(portsMissingNodePort(svc), [0, 2]);
    assert.deepEqual(
      withNodePorts(svc, [30500, 30501]).map((p) => p.nodePort),
      [30500, 31053, 30501],
    );
  });
});
