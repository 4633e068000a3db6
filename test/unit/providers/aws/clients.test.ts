/**
 * The client middleware against a loopback HTTP server speaking ELBv2's XML: every call goes
 * through the gate under the right budget, and a Throttling answer becomes a throttled
 * CloudError that the gate retries, so the SDK's own retry never hides it.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DeleteSecurityGroupCommand, type IpPermission } from '@aws-sdk/client-ec2';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  type CreateListenerCommandInput,
  DeleteListenerCommand,
  DescribeLoadBalancersCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  awsCallBudgets,
  budgetFor,
  createAwsClients,
  repeatPolicy,
  type AwsClients,
} from '../../../../providers/aws/clients.js';
import { authorizeIngress, revokeIngress } from '../../../../providers/aws/ingress-rules.js';
import { CloudError } from '../../../../contract/errors.js';
import { CloudCallGate, type CallOutcome } from '../../../../runtime/cloud-calls.js';

const ns = 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/';
const errorXml = (code: string) =>
  `<ErrorResponse xmlns="${ns}"><Error><Type>Sender</Type><Code>${code}</Code><Message>nope</Message></Error><RequestId>r</RequestId></ErrorResponse>`;
const oneNlb = (name: string) =>
  `<DescribeLoadBalancersResponse xmlns="${ns}"><DescribeLoadBalancersResult><LoadBalancers><member><LoadBalancerName>${name}</LoadBalancerName><LoadBalancerArn>arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/${name}/1</LoadBalancerArn></member></LoadBalancers></DescribeLoadBalancersResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeLoadBalancersResponse>`;
const listenersOn = (port: number) =>
  `<DescribeListenersResponse xmlns="${ns}"><DescribeListenersResult><Listeners><member><ListenerArn>arn:listener/${port}</ListenerArn><Port>${port}</Port><Protocol>TCP</Protocol></member></Listeners></DescribeListenersResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeListenersResponse>`;
const createdListener = `<CreateListenerResponse xmlns="${ns}"><CreateListenerResult><Listeners><member><ListenerArn>arn:listener/new</ListenerArn><Port>80</Port></member></Listeners></CreateListenerResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></CreateListenerResponse>`;
const ec2Error = (code: string) =>
  `<Response><Errors><Error><Code>${code}</Code><Message>nope</Message></Error></Errors><RequestID>r</RequestID></Response>`;
const rule: IpPermission = {
  IpProtocol: 'tcp',
  FromPort: 80,
  ToPort: 80,
  IpRanges: [{ CidrIp: '10.0.0.0/8' }],
};
const web80: CreateListenerCommandInput = {
  LoadBalancerArn: 'arn:lb',
  Port: 80,
  Protocol: 'TCP',
  DefaultActions: [{ Type: 'forward', TargetGroupArn: 'arn:tg' }],
};
const emptyDescribe = `<DescribeLoadBalancersResponse xmlns="${ns}"><DescribeLoadBalancersResult><LoadBalancers/></DescribeLoadBalancersResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeLoadBalancersResponse>`;

describe('aws clients', () => {
  let server: Server;
  /** `hang`: accept the request and never answer; `drop`: close the connection unanswered. */
  let answers: ({ status: number; body: string } | 'hang' | 'drop')[];
  let requests: number;
  let actions: string[];
  let clients: AwsClients;
  let outcomes: { budget: string; operation: string; outcome: CallOutcome }[];
  let calls: CloudCallGate;

  beforeEach(async () => {
    answers = [];
    requests = 0;
    actions = [];
    outcomes = [];
    server = createServer((req, res) => {
      requests++;
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        actions.push(new URLSearchParams(body).get('Action') ?? '?');
        const a = answers.shift() ?? { status: 200, body: emptyDescribe };
        if (a === 'hang') return;
        if (a === 'drop') return void req.socket.destroy();
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
      // That sleep is instant: the SDK's own timeouts, in real time, are the ones under test.
      attemptTimeoutMs: Infinity,
      observer: ({ budget, operation, outcome }) => outcomes.push({ budget, operation, outcome }),
    });
    const { port } = server.address() as AddressInfo;
    calls.configure(awsCallBudgets);
    clients = createAwsClients(
      { region: 'us-east-1', endpoint: `http://127.0.0.1:${port}` },
      calls,
      { connectTimeoutMs: 1000, requestTimeoutMs: 300 },
    );
  });
  afterEach(async () => {
    clients.destroy();
    server.closeAllConnections();
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
      clients.elb.send(new DeleteListenerCommand({ ListenerArn: 'a' })),
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

  it('retries a read that got a 503 from something in between, and it succeeds', async () => {
    answers = [{ status: 503, body: '<html><body>503 Service Unavailable</body></html>' }];
    const out = await clients.elb.send(new DescribeLoadBalancersCommand({}));
    assert.deepEqual(out.LoadBalancers, []);
    assert.deepEqual(
      outcomes.map((o) => o.outcome),
      ['error', 'success'],
    );
    assert.equal(requests, 2);
  });

  it('times out a request the endpoint never answers, frees it, and retries the read', async () => {
    answers = ['hang'];
    const out = await clients.elb.send(new DescribeLoadBalancersCommand({}));
    assert.deepEqual(out.LoadBalancers, []);
    assert.deepEqual(
      outcomes.map((o) => o.outcome),
      ['timeout', 'success'],
    );
  });

  it('does not send again a write that is unsafe to repeat', async () => {
    answers = ['drop'];
    await assert.rejects(
      clients.ec2.send(new DeleteSecurityGroupCommand({ GroupId: 'sg-1' })),
      (err: unknown) => err instanceof CloudError && err.retryable,
    );
    assert.equal(requests, 1);
  });

  for (const [change, code] of [
    [authorizeIngress, 'InvalidPermission.Duplicate'],
    [revokeIngress, 'InvalidPermission.NotFound'],
  ] as const) {
    it(`repeats ${change.name} after its answer was lost, and takes the repeat's ${code} as done`, async () => {
      answers = ['drop', { status: 400, body: ec2Error(code) }];
      await change(clients.ec2, 'sg-1', [rule]);
      assert.equal(actions.length, 2);
      assert.equal(new Set(actions).size, 1, 'the same call, sent again');
    });
  }

  it('verifies a CreateListener whose answer was lost by the NLB’s listener on that port', async () => {
    answers = ['drop', { status: 200, body: listenersOn(80) }];
    const out = await clients.elb.send(new CreateListenerCommand(web80));
    assert.equal(out.Listeners?.[0]?.ListenerArn, 'arn:listener/80');
    assert.deepEqual(actions, ['CreateListener', 'DescribeListeners']);
  });

  it('sends a CreateListener again when no listener is on its port', async () => {
    answers = [
      'drop',
      { status: 200, body: listenersOn(443) },
      { status: 200, body: createdListener },
    ];
    const out = await clients.elb.send(new CreateListenerCommand(web80));
    assert.equal(out.Listeners?.[0]?.ListenerArn, 'arn:listener/new');
    assert.deepEqual(actions, ['CreateListener', 'DescribeListeners', 'CreateListener']);
  });

  it('verifies a CreateLoadBalancer whose answer was lost by name, instead of creating another', async () => {
    answers = ['drop', { status: 200, body: oneNlb('k8s-web') }];
    const out = await clients.elb.send(
      new CreateLoadBalancerCommand({ Name: 'k8s-web', Type: 'network', Subnets: ['s'] }),
    );
    assert.equal(out.LoadBalancers?.[0]?.LoadBalancerName, 'k8s-web');
    assert.deepEqual(actions, ['CreateLoadBalancer', 'DescribeLoadBalancers']);
  });

  it('marks reads, creates by name, rule changes and set-to-value writes safe to repeat', () => {
    assert.deepEqual(
      [
        repeatPolicy('elb', 'DescribeTargetGroups'),
        repeatPolicy('elb', 'CreateTargetGroup'),
        repeatPolicy('elb', 'CreateListener'),
        repeatPolicy('elb', 'CreateLoadBalancer'),
        repeatPolicy('elb', 'ModifyTargetGroup'),
        repeatPolicy('elb', 'RegisterTargets'),
        repeatPolicy('elb', 'DeleteLoadBalancer'),
        repeatPolicy('elb', 'DeleteListener'),
        repeatPolicy('ec2', 'DescribeSecurityGroups'),
        repeatPolicy('ec2', 'CreateSecurityGroup'),
        repeatPolicy('ec2', 'AuthorizeSecurityGroupIngress'),
        repeatPolicy('ec2', 'RevokeSecurityGroupIngress'),
        repeatPolicy('ec2', 'DeleteSecurityGroup'),
      ],
      [
        'idempotent',
        'idempotent',
        'verify',
        'verify',
        'idempotent',
        'idempotent',
        'idempotent',
        undefined,
        'idempotent',
        'idempotent',
        'idempotent',
        'idempotent',
        undefined,
      ],
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

  it('keeps the SDK in standard retry mode when the environment asks for adaptive', async () => {
    // Adaptive mode adds a client-side rate limiter that throttles would steer beside the gate.
    const saved = process.env.AWS_RETRY_MODE;
    process.env.AWS_RETRY_MODE = 'adaptive';
    try {
      const fresh = createAwsClients(
        { region: 'us-east-1', endpoint: 'http://127.0.0.1:9' },
        calls,
      );
      const modes = await Promise.all(
        [fresh.elb, fresh.ec2].map(
          async (c) => ((await c.config.retryStrategy()) as { mode?: string }).mode,
        ),
      );
      fresh.destroy();
      assert.deepEqual(modes, ['standard', 'standard']);
    } finally {
      if (saved === undefined) delete process.env.AWS_RETRY_MODE;
      else process.env.AWS_RETRY_MODE = saved;
    }
  });

  it('budgets each family at or below the AWS token bucket it draws from', () => {
    const documented = {
      describe: { qps: 10, burst: 40 },
      register: { qps: 4, burst: 20 },
      'ec2-describe': { qps: 20, burst: 100 },
      'ec2-mutate': { qps: 5, burst: 50 },
    };
    for (const [family, bucket] of Object.entries(documented)) {
      const b = awsCallBudgets[family as keyof typeof awsCallBudgets];
      assert.ok(b.qps <= bucket.qps && b.burst <= bucket.burst, family);
    }
  });
});
