/**
 * The client middleware against a loopback HTTP server speaking ELBv2's XML: every call goes
 * through the gate under the right budget, and a Throttling answer becomes a throttled
 * CloudError that the gate retries, so the SDK's own retry never hides it.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DescribeLoadBalancersCommand,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  awsCallBudgets,
  budgetFor,
  createAwsClients,
  type AwsClients,
} from '../../../../providers/aws/clients.js';
import { CloudError } from '../../../../contract/errors.js';
import { CloudCallGate, type CallOutcome } from '../../../../runtime/cloud-calls.js';

const ns = 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/';
const errorXml = (code: string) =>
  `<ErrorResponse xmlns="${ns}"><Error><Type>Sender</Type><Code>${code}</Code><Message>nope</Message></Error><RequestId>r</RequestId></ErrorResponse>`;
const emptyDescribe = `<DescribeLoadBalancersResponse xmlns="${ns}"><DescribeLoadBalancersResult><LoadBalancers/></DescribeLoadBalancersResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeLoadBalancersResponse>`;

describe('aws clients', () => {
  let server: Server;
  let answers: { status: number; body: string }[];
  let requests: number;
  let clients: AwsClients;
  let outcomes: { budget: string; operation: string; outcome: CallOutcome }[];
  let calls: CloudCallGate;

  beforeEach(async () => {
    answers = [];
    requests = 0;
    outcomes = [];
    server = createServer((req, res) => {
      requests++;
      req.resume();
      req.on('end', () => {
        const a = answers.shift() ?? { status: 200, body: emptyDescribe };
        res.writeHead(a.status, { 'content-type': 'text/xml' }).end(a.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    process.env.AWS_ACCESS_KEY_ID = 'testing';
    process.env.AWS_SECRET_ACCESS_KEY = 'testing';
    // A manual clock that sleeping advances: the gate's pauses end at once, in order.
    let clock = 0;
    calls = new CloudCallGate({
      now: () => clock,
      sleep: async (ms) => {
        clock += ms;
      },
      observer: ({ budget, operation, outcome }) => outcomes.push({ budget, operation, outcome }),
    });
    const { port } = server.address() as AddressInfo;
    calls.configure(awsCallBudgets);
    clients = createAwsClients(
      { region: 'us-east-1', endpoint: `http://127.0.0.1:${port}` },
      calls,
    );
  });
  afterEach(async () => {
    clients.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends each call through the gate under its budget', async () => {
    await clients.elb.send(new DescribeLoadBalancersCommand({}));
    assert.deepEqual(outcomes, [
      { budget: 'describe', operation: 'DescribeLoadBalancers', outcome: 'success' },
    ]);
    assert.equal(calls.totalCalls, 1);
  });

  it('turns Throttling into a throttled CloudError the gate retries, one HTTP request per attempt', async () => {
    answers = [
      { status: 400, body: errorXml('Throttling') },
      { status: 400, body: errorXml('Throttling') },
    ];
    await clients.elb.send(new DescribeLoadBalancersCommand({}));
    assert.deepEqual(
      outcomes.map((o) => o.outcome),
      ['throttled', 'throttled', 'success'],
    );
    assert.equal(requests, 3, 'the SDK itself did not retry');
  });

  it('classifies LoadBalancerNotFound as notFound and not retryable', async () => {
    answers = [{ status: 400, body: errorXml('LoadBalancerNotFound') }];
    await assert.rejects(
      clients.elb.send(new DescribeLoadBalancersCommand({ Names: ['x'] })),
      (err: unknown) => {
        assert.ok(err instanceof CloudError);
        assert.deepEqual(
          [err.cloudCode, err.notFound, err.throttled, err.retryable],
          ['LoadBalancerNotFound', true, false, false],
        );
        assert.equal(err.operation, 'DescribeLoadBalancers');
        return true;
      },
    );
  });

  it('classifies a server fault as retryable', async () => {
    answers = [{ status: 500, body: errorXml('InternalFailure') }];
    await assert.rejects(
      clients.elb.send(new RegisterTargetsCommand({ TargetGroupArn: 'a', Targets: [] })),
      (err: unknown) => {
        assert.ok(err instanceof CloudError);
        assert.deepEqual(
          [err.cloudCode, err.retryable, err.throttled],
          ['InternalFailure', true, false],
        );
        return true;
      },
    );
  });

  it('maps operations to budgets after AWS’s separate token buckets', () => {
    assert.deepEqual(
      [
        budgetFor('elb', 'DescribeTargetHealthCommand'),
        budgetFor('elb', 'CreateListener'),
        budgetFor('elb', 'RegisterTargets'),
        budgetFor('elb', 'DeregisterTargets'),
        budgetFor('ec2', 'DescribeSubnets'),
        budgetFor('ec2', 'AuthorizeSecurityGroupIngress'),
      ],
      ['describe', 'mutate', 'register', 'register', 'ec2-describe', 'ec2-mutate'],
    );
  });
});
