/** The parts of the contract that need no load balancer: capabilities, budgets, names, validation. */
import assert from 'node:assert/strict';
import { BOOLEAN_CAPABILITIES, PROTOCOLS } from '../../../contract/provider.js';
import type { Harness } from '../harness.js';

export function describeContract(harness: () => Harness): void {
  it('declares a name and well-formed capabilities', async () => {
    const { provider } = await harness().start();
    assert.equal(typeof provider.name, 'string');
    assert.ok(provider.name.length > 0, 'name is empty');
    const caps = provider.capabilities;
    for (const key of BOOLEAN_CAPABILITIES) {
      assert.equal(typeof caps[key], 'boolean', `capabilities.${key} is not a boolean`);
    }
    assert.ok(caps.protocols.length > 0, 'capabilities.protocols is empty');
    for (const p of caps.protocols) assert.ok(PROTOCOLS.includes(p), `unknown protocol ${p}`);
    assert.equal(new Set(caps.protocols).size, caps.protocols.length, 'duplicate protocols');
    assert.ok(caps.ipMode === 'VIP' || caps.ipMode === 'Proxy', `bad ipMode ${caps.ipMode}`);
  });

  it('declares a default call budget, and only positive limits', async () => {
    const { provider } = await harness().start();
    assert.ok(provider.callBudgets.default, 'callBudgets.default is missing');
    for (const [name, b] of Object.entries(provider.callBudgets)) {
      assert.ok(b.qps > 0, `callBudgets.${name}.qps must be > 0`);
      assert.ok(b.burst >= 1, `callBudgets.${name}.burst must be >= 1`);
      assert.ok(b.concurrency >= 1, `callBudgets.${name}.concurrency must be >= 1`);
    }
  });

  describe('loadBalancerName', () => {
    it('is deterministic, across copies of the Service and across restarts', async () => {
      const h = harness();
      const svc = h.service();
      const first = (await h.start()).provider;
      const name = first.loadBalancerName(h.clusterName, svc);
      assert.ok(name.length > 0, 'the name is empty');
      assert.equal(
        first.loadBalancerName(
          h.clusterName,
          h.edit(svc, () => {}),
        ),
        name,
      );
      assert.equal((await h.start()).provider.loadBalancerName(h.clusterName, svc), name);
    });

    it('differs for two Services with the same name but different UIDs', async () => {
      const h = harness();
      const { provider } = await h.start();
      const a = provider.loadBalancerName(h.clusterName, h.service(undefined, 'same'));
      const b = provider.loadBalancerName(h.clusterName, h.service(undefined, 'same'));
      assert.notEqual(a, b);
    });

    it('differs for two clusters sharing the cloud account', async () => {
      const h = harness();
      const svc = h.service();
      const { provider } = await h.start();
      assert.notEqual(
        provider.loadBalancerName(h.clusterName, svc),
        provider.loadBalancerName(`${h.clusterName}-other`, svc),
      );
    });

    it('stays within the length limit, even for the longest namespace and name', async () => {
      const h = harness();
      const { provider } = await h.start();
      const long = 'n'.repeat(63);
      const svc = h.service((s) => void (s.metadata!.namespace = long), long);
      for (const cluster of [h.clusterName, 'c'.repeat(100)]) {
        const name = provider.loadBalancerName(cluster, svc);
        assert.ok(
          name.length <= h.maxNameLength,
          `"${name}" is ${name.length} characters; the limit is ${h.maxNameLength}`,
        );
      }
    });
  });

  describe('validateService', () => {
    it('accepts a plain Service, without a cloud call', async () => {
      const h = harness();
      const { provider } = await h.start();
      const mark = h.log.mark();
      assert.deepEqual(provider.validateService(h.service()), []);
      assert.deepEqual(h.log.since(mark), [], 'validateService must be pure');
    });
  });
}
