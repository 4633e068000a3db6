import assert from 'node:assert/strict';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { classifyAwsError } from '../../../../providers/aws/errors.js';
import { deleteSecurityGroup } from '../../../../providers/aws/security.js';
import { deleteTargetGroup } from '../../../../providers/aws/target-groups.js';

/** The shape SDK v3 gives a modelled service error. */
function sdkError(name: string, fault: 'client' | 'server', extra: object = {}) {
  return Object.assign(new Error(`${name} happened`), {
    name,
    $fault: fault,
    $metadata: { httpStatusCode: 400 },
    ...extra,
  });
}

describe('aws error classification', () => {
  const cases: { desc: string; err: unknown; want: [string, boolean, boolean, boolean] }[] = [
    {
      desc: 'ELBv2 Throttling',
      err: sdkError('Throttling', 'client'),
      want: ['Throttling', true, false, true],
    },
    {
      desc: 'ELBv2 TooManyRequests',
      err: sdkError('TooManyRequestsException', 'client'),
      want: ['TooManyRequests', true, false, true],
    },
    {
      desc: 'EC2 RequestLimitExceeded',
      err: sdkError('RequestLimitExceeded', 'client'),
      want: ['RequestLimitExceeded', true, false, true],
    },
    {
      desc: 'an unknown code the SDK marks as throttling',
      err: sdkError('SomethingNew', 'client', { $retryable: { throttling: true } }),
      want: ['SomethingNew', true, false, true],
    },
    {
      desc: 'LoadBalancerNotFound (modelled as ...Exception)',
      err: sdkError('LoadBalancerNotFoundException', 'client'),
      want: ['LoadBalancerNotFound', false, true, false],
    },
    {
      desc: 'TargetGroupNotFound',
      err: sdkError('TargetGroupNotFoundException', 'client'),
      want: ['TargetGroupNotFound', false, true, false],
    },
    {
      desc: 'ListenerNotFound',
      err: sdkError('ListenerNotFoundException', 'client'),
      want: ['ListenerNotFound', false, true, false],
    },
    {
      desc: 'EC2 InvalidGroup.NotFound',
      err: sdkError('InvalidGroup.NotFound', 'client'),
      want: ['InvalidGroup.NotFound', false, true, false],
    },
    {
      desc: 'a validation error',
      err: sdkError('ValidationError', 'client'),
      want: ['ValidationError', false, false, false],
    },
    {
      desc: 'a server fault',
      err: sdkError('InternalFailure', 'server'),
      want: ['InternalFailure', false, false, true],
    },
    {
      desc: 'a socket error with no AWS answer',
      err: Object.assign(new Error('ECONNRESET'), { code: 'ECONNRESET' }),
      want: ['ECONNRESET', false, false, true],
    },
  ];
  for (const c of cases) {
    it(`classifies ${c.desc}`, () => {
      const e = classifyAwsError('Op', c.err);
      assert.deepEqual([e.cloudCode, e.throttled, e.notFound, e.retryable], c.want);
      assert.equal(e.cause, c.err);
    });
  }

  it('reports a group still held by AWS as in use, not as a failure', async () => {
    const failing = (name: string) =>
      ({
        send: async () => {
          throw classifyAwsError('Delete', sdkError(name, 'client'));
        },
      }) as unknown;
    assert.equal(
      await deleteSecurityGroup(failing('DependencyViolation') as EC2Client, 'sg-1'),
      'in-use',
    );
    assert.equal(
      await deleteSecurityGroup(failing('InvalidGroup.NotFound') as EC2Client, 'sg-1'),
      'deleted',
    );
    assert.equal(
      await deleteTargetGroup(
        failing('ResourceInUseException') as ElasticLoadBalancingV2Client,
        'arn',
      ),
      'in-use',
    );
    assert.equal(
      await deleteTargetGroup(
        failing('TargetGroupNotFoundException') as ElasticLoadBalancingV2Client,
        'arn',
      ),
      'deleted',
    );
  });
});
