import assert from 'node:assert/strict';
import { isEligibleNode } from '../../../contract/nodes.js';
import {
  newNode,
  tweakNotReady,
  tweakNodeLabels,
  tweakProviderID,
} from '../../fixtures/builders.js';

describe('node eligibility', () => {
  describe('isEligibleNode', () => {
    const cases = [
      { desc: 'a plain node', node: newNode('n1'), want: true },
      {
        desc: 'a NotReady node (readiness is not a predicate)',
        node: newNode('n1', tweakNotReady),
        want: true,
      },
      {
        desc: 'a node labelled exclude-from-external-load-balancers',
        node: newNode(
          'n1',
          tweakNodeLabels({ 'node.kubernetes.io/exclude-from-external-load-balancers': '' }),
        ),
        want: false,
      },
      {
        desc: 'a node with the exclude label set to "false"',
        node: newNode(
          'n1',
          tweakNodeLabels({ 'node.kubernetes.io/exclude-from-external-load-balancers': 'false' }),
        ),
        want: true,
      },
      {
        desc: 'a node tainted ToBeDeletedByClusterAutoscaler',
        node: newNode(
          'n1',
          (n) =>
            (n.spec!.taints = [{ key: 'ToBeDeletedByClusterAutoscaler', effect: 'NoSchedule' }]),
        ),
        want: false,
      },
      {
        desc: 'a node being deleted',
        node: newNode('n1', (n) => (n.metadata!.deletionTimestamp = new Date())),
        want: false,
      },
      {
        desc: 'a node without providerID when the provider needs one',
        node: newNode('n1', tweakProviderID(undefined)),
        want: false,
        needsProviderID: true,
      },
      {
        desc: 'a node without providerID when the provider does not care',
        node: newNode('n1', tweakProviderID(undefined)),
        want: true,
      },
    ];
    for (const c of cases) {
      it(`is ${c.want} for ${c.desc}`, () =>
        assert.equal(isEligibleNode(c.node, c.needsProviderID ?? false), c.want));
    }
  });
});
