/**
 * The listener reconcile against a recording ELBv2 client: which writes it makes for the
 * listeners it finds, one per port or (after a repeated CreateListener on moto) two on one port.
 */
import assert from 'node:assert/strict';
import type {
  ElasticLoadBalancingV2Client,
  Listener,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { DesiredListener } from '../../../../providers/aws/desired.js';
import { reconcileListeners } from '../../../../providers/aws/listeners.js';

const ours = 'arn:tg/ours';
const other = 'arn:tg/other';

const listener = (arn: string, port: number, targetGroupArn: string): Listener => ({
  ListenerArn: arn,
  Port: port,
  Protocol: 'TCP',
  DefaultActions: [{ Type: 'forward', TargetGroupArn: targetGroupArn }],
});

const web: DesiredListener = { port: 80, protocol: 'TCP', targetGroupName: 'k8s-web-80' };

/** `DeleteListener arn:l/2`, `ModifyListener arn:l/1`, `CreateListener 80`. */
async function writesFor(
  actual: Listener[],
  desired: DesiredListener[] = [web],
): Promise<string[]> {
  const writes: string[] = [];
  const elb = {
    async send(command: { constructor: { name: string }; input: Record<string, unknown> }) {
      const operation = command.constructor.name.replace(/Command$/, '');
      const { ListenerArn, Port } = command.input;
      writes.push(`${operation} ${String(ListenerArn ?? Port)}`);
      return {};
    },
  } as unknown as ElasticLoadBalancingV2Client;
  await reconcileListeners(elb, 'arn:lb', actual, desired, () => ours, {});
  return writes;
}

describe('aws listener reconcile', () => {
  const cases = [
    {
      desc: 'leaves one listener per port that forwards to the port’s group alone',
      actual: [listener('arn:l/1', 80, ours)],
      want: [],
    },
    {
      desc: 'creates the listener of a port that has none',
      actual: [],
      want: ['CreateListener 80'],
    },
    {
      desc: 'deletes a second listener on a port, keeping the one that forwards to our group',
      actual: [listener('arn:l/1', 80, other), listener('arn:l/2', 80, ours)],
      want: ['DeleteListener arn:l/1'],
    },
    {
      desc: 'deletes a second listener that forwards to our group too',
      actual: [listener('arn:l/1', 80, ours), listener('arn:l/2', 80, ours)],
      want: ['DeleteListener arn:l/2'],
    },
    {
      desc: 'keeps the first of two that forward elsewhere, and repoints it',
      actual: [listener('arn:l/1', 80, other), listener('arn:l/2', 80, other)],
      want: ['DeleteListener arn:l/2', 'ModifyListener arn:l/1'],
    },
    {
      desc: 'deletes every listener of a port the Service dropped',
      actual: [
        listener('arn:l/1', 80, ours),
        listener('arn:l/2', 53, other),
        listener('arn:l/3', 53, other),
      ],
      want: ['DeleteListener arn:l/2', 'DeleteListener arn:l/3'],
    },
  ];
  for (const c of cases) {
    it(c.desc, async () => {
      assert.deepEqual(await writesFor(c.actual), c.want);
    });
  }
});
