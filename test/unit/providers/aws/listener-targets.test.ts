import assert from 'node:assert/strict';
import type { Listener } from '@aws-sdk/client-elastic-load-balancing-v2';
import { forwardsTo, forwardTargets } from '../../../../providers/aws/listeners.js';

describe('aws listeners: the groups a listener forwards to', () => {
  const forward = (action: object): Listener => ({
    DefaultActions: [{ Type: 'forward', ...action }],
  });
  const cases: { desc: string; listener: Listener; targets: string[]; one?: string }[] = [
    {
      desc: 'by TargetGroupArn (kube-lbc, cloud-provider-aws)',
      listener: forward({ TargetGroupArn: 'a' }),
      targets: ['a'],
      one: 'a',
    },
    {
      desc: 'by ForwardConfig alone (aws-load-balancer-controller)',
      listener: forward({ ForwardConfig: { TargetGroups: [{ TargetGroupArn: 'a' }] } }),
      targets: ['a'],
      one: 'a',
    },
    {
      desc: 'by both, naming the same group (as AWS answers)',
      listener: forward({
        TargetGroupArn: 'a',
        ForwardConfig: { TargetGroups: [{ TargetGroupArn: 'a', Weight: 1 }] },
      }),
      targets: ['a'],
      one: 'a',
    },
    {
      desc: 'to weighted groups: every one, and no single one',
      listener: forward({
        ForwardConfig: { TargetGroups: [{ TargetGroupArn: 'a' }, { TargetGroupArn: 'b' }] },
      }),
      targets: ['a', 'b'],
    },
    { desc: 'nowhere, without a forward action', listener: { DefaultActions: [] }, targets: [] },
  ];
  for (const c of cases) {
    it(`reads a listener forwarding ${c.desc}`, () => {
      assert.deepEqual(forwardTargets(c.listener), c.targets);
      assert.equal(forwardsTo(c.listener), c.one);
    });
  }
});
