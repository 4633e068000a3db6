/**
 * `planLoadBalancer` on moto: the plan lists the writes ensure would make, makes none itself
 * (counted at the gate, and the account is unchanged), and applying right after makes exactly
 * the listed writes. deploy/aws/iam-policy-readonly.json grants exactly the reads plans make.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { V1Node, V1Service } from '@kubernetes/client-node';
import { noopLogger } from '../../../contract/logger.js';
import type { LoadBalancerProvider, PlannedChange } from '../../../contract/provider.js';
import { annotation } from '../../../providers/aws/annotations.js';
import { createAwsProvider } from '../../../providers/aws/index.js';
import { ReadOnlyCloudCalls } from '../../../runtime/read-only-calls.js';
import { newService, tweakAddPorts } from '../../fixtures/builders.js';
import { clusterName, RecordingCalls, useAwsHarness } from './harness.js';
import { readInventory } from './inventory.js';

describe('aws planLoadBalancer on moto', function () {
  this.timeout(120_000);
  const h = useAwsHarness();
  let planner: LoadBalancerProvider;
  let readOnly: ReadOnlyCloudCalls;
  let behind: RecordingCalls;

  beforeEach(async () => {
    behind = new RecordingCalls();
    readOnly = new ReadOnlyCloudCalls(behind);
    planner = await createAwsProvider({
      config: {},
      clusterName,
      logger: noopLogger,
      cloudCalls: readOnly,
      cluster: { services: () => [], nodes: () => [] },
    });
    behind.configure(wide(planner.callBudgets));
  });
  afterEach(() => planner.close?.());

  const plan = (svc: V1Service, nodes: V1Node[]) =>
    planner.planLoadBalancer!(h.ctx, clusterName, svc, nodes);

  /** Plans, then ensures with the controller's provider: the writes ensure made, in order. */
  async function applied(svc: V1Service, nodes: V1Node[]): Promise<string[]> {
    h.calls.clear();
    await h.ensureReady(svc, nodes);
    // ensureReady repeats ensure while the NLB provisions: the first pass is what was planned.
    return h.calls.writes();
  }

  it('lists every write of a new Service and makes none: the gate saw reads only, AWS is unchanged', async () => {
    const svc = newService(
      'web',
      tweakAddPorts({ name: 'https', port: 443, protocol: 'TCP', nodePort: 30443 }),
    );
    const before = await readInventory();
    const changes = await plan(svc, h.nodes(2));

    assert.deepEqual(readOnly.refused, []);
    assert.ok(behind.operations.length > 0);
    assert.deepEqual(behind.writes(), [], 'no write reached AWS');
    assert.deepEqual(await readInventory(), before);
    const text = changes.map((c) => c.description);
    assert.ok(
      text.some((t) => /^create NLB k8s-[0-9a-f]{28} \(internet-facing\)$/.test(t)),
      text.join('\n'),
    );
    assert.ok(text.includes('add listener TCP 443'), text.join('\n'));
    assert.ok(text.includes('add listener TCP 80'), text.join('\n'));
    assert.equal(text.filter((t) => /^register 2 targets in /.test(t)).length, 2, text.join('\n'));

    assert.deepEqual(await applied(svc, h.nodes(2)), ops(changes));
  });

  it('plans nothing once the Service is in place, and then exactly the writes a change makes', async () => {
    const svc = newService('web');
    await h.ensureReady(svc, h.nodes());
    assert.deepEqual(await plan(svc, h.nodes()), []);

    const changed = structuredClone(svc);
    changed.spec!.ports!.push({ name: 'https', port: 443, protocol: 'TCP', nodePort: 30443 });
    changed.metadata!.annotations = { [annotation.crossZone]: 'true' };
    const changes = await plan(changed, h.nodes(2));
    const text = changes.map((c) => c.description);
    assert.ok(text.includes('add listener TCP 443'), text.join('\n'));
    assert.ok(
      text.some((t) => /^deregister 2 targets from /.test(t)),
      text.join('\n'),
    );
    assert.ok(
      text.some((t) => /^change attributes of NLB k8s-/.test(t)),
      text.join('\n'),
    );
    assert.deepEqual(await applied(changed, h.nodes(2)), ops(changes));
    assert.deepEqual(await plan(changed, h.nodes(2)), []);

    const fewer = structuredClone(changed);
    fewer.spec!.ports!.pop();
    const removal = await plan(fewer, h.nodes(2));
    assert.ok(
      removal.some((c) => /^delete listener TCP 443$/.test(c.description)),
      JSON.stringify(removal),
    );
    assert.ok(
      removal.some((c) => /^delete target group /.test(c.description)),
      JSON.stringify(removal),
    );
    assert.deepEqual(await applied(fewer, h.nodes(2)), ops(removal));
    assert.deepEqual(behind.writes(), [], 'no plan sent a write');
  });

  it('ships a read-only IAM policy granting exactly the reads plans and orphan listing make', async () => {
    const svc = newService('web');
    await plan(svc, h.nodes());
    await h.ensureReady(svc, h.nodes());
    const changed = structuredClone(svc);
    changed.spec!.ports!.push({ name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 });
    await plan(changed, h.nodes(1));
    await planner.listLoadBalancers!(h.ctx, clusterName);

    const needed = new Set(
      behind.operations.map(
        (op) =>
          `${/^Describe(Instances|SecurityGroups|Subnets)$/.test(op) ? 'ec2' : 'elasticloadbalancing'}:${op}`,
      ),
    );
    const policy = JSON.parse(await readFile('deploy/aws/iam-policy-readonly.json', 'utf8')) as {
      Statement: { Effect: string; Action: string[] }[];
    };
    const granted = new Set(policy.Statement.flatMap((s) => s.Action));
    assert.deepEqual(
      [...needed].filter((a) => !granted.has(a)).sort(),
      [],
      'called but not granted',
    );
    assert.deepEqual(
      [...granted].filter((a) => !needed.has(a)).sort(),
      [],
      'granted but never called',
    );
    for (const a of granted) assert.match(a, /^(ec2|elasticloadbalancing):Describe[A-Za-z]+$/);
  });
});

const ops = (changes: readonly PlannedChange[]) => changes.map((c) => c.operation);

/** The declared budgets, a hundred times wider, as the harness does. */
function wide(budgets: LoadBalancerProvider['callBudgets']): LoadBalancerProvider['callBudgets'] {
  return Object.fromEntries(
    Object.entries(budgets).map(([name, b]) => [
      name,
      { ...b, qps: b.qps * 100, burst: b.burst * 100 },
    ]),
  ) as LoadBalancerProvider['callBudgets'];
}
