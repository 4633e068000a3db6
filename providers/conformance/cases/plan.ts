/**
 * `planLoadBalancer`, for providers that have it: it only reads, and applying right after does
 * exactly what it said, for a new load balancer, a change, and no change.
 */
import assert from 'node:assert/strict';
import type { PlannedChange } from '../../../contract/provider.js';
import type { Harness } from '../harness.js';
import { httpsPort } from '../objects.js';

const operations = (changes: readonly PlannedChange[]) => changes.map((c) => c.operation);

export function describePlan(harness: () => Harness): void {
  it('plans the writes ensure then makes, making none itself: new, changed, unchanged', async function () {
    const h = harness();
    const { provider } = await h.start();
    if (!provider.planLoadBalancer) this.skip();
    const plan = provider.planLoadBalancer!.bind(provider);
    const svc = h.service();

    // Each step's Service is made when the step runs: an edit becomes the current version.
    const steps = [
      { what: 'a new load balancer', service: () => svc, nodes: h.nodes(2), empty: false },
      {
        what: 'a port and a node added',
        service: () => h.edit(svc, (s) => s.spec!.ports!.push({ ...httpsPort })),
        nodes: h.nodes(3),
        empty: false,
      },
      { what: 'nothing changed', service: () => h.current(svc), nodes: h.nodes(3), empty: true },
    ];
    for (const step of steps) {
      const service = step.service();
      let mark = h.log.mark();
      const changes = await plan(h.ctx(), h.clusterName, service, step.nodes);
      assert.deepEqual(
        h.log.writesSince(mark),
        [],
        `planLoadBalancer made cloud writes (${step.what})`,
      );
      for (const c of changes)
        assert.ok(c.description, `a planned ${c.operation} has no description`);
      if (step.empty) assert.deepEqual(changes, [], 'a plan with nothing to change is empty');
      else assert.ok(changes.length > 0, `nothing planned for ${step.what}`);
      mark = h.log.mark();
      await h.ensure(provider, service, step.nodes);
      assert.deepEqual(
        h.log.writesSince(mark),
        operations(changes),
        `ensure after the plan (${step.what}) did not make exactly the planned writes`,
      );
    }
  });
}
