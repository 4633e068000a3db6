/**
 * How the NLBs reach the nodes, against moto (which enforces AWS's 60 rules per security group):
 * the cluster's backend group admitted on the node group by a fixed set of rules, whatever the
 * number of Services; made once, shared, and deleted with the last NLB; and the per-Service rules
 * of an older kube-lbc migrated with no moment where a NodePort is closed to its NLB.
 */
import assert from 'node:assert/strict';
import type { V1Service } from '@kubernetes/client-node';
import { backendGroupName, securityGroupName } from '../../../providers/aws/names.js';
import { RetryAfterError } from '../../../contract/errors.js';
import { newService, tweakPorts, tweakSourceRanges } from '../../fixtures/builders.js';
import { nodeSecurityGroupName } from '../../support/moto.js';
import {
  clusterName,
  downgradeToPerServiceRules,
  newProvider,
  RecordingCalls,
  useAwsHarness,
} from './harness.js';
import { readInventory, type Inventory } from './inventory.js';

const nodeRules = (inv: Inventory) =>
  inv.securityGroups.find((g) => g.name === nodeSecurityGroupName)!.ingress;

/** Runs `fn` over `items`, `width` at a time, as the controller's workers would. */
async function inParallel<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: width }, worker));
}

describe('aws node access against moto: one backend group, a bounded node group', function () {
  this.timeout(300_000);
  const h = useAwsHarness();

  const service = (i: number, ...ports: number[]): V1Service =>
    newService(
      `svc-${i}`,
      tweakPorts(
        ...ports.map((nodePort, p) => ({
          name: `p${p}`,
          port: 8000 + p,
          protocol: 'TCP',
          nodePort,
        })),
      ),
    );

  async function deleteUntilDone(svc: V1Service): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await h.provider.ensureLoadBalancerDeleted(h.ctx, clusterName, svc);
        h.live.delete(svc.metadata!.uid!);
        return;
      } catch (err) {
        if (!(err instanceof RetryAfterError) || attempt >= 3) throw err;
      }
    }
  }

  it('serves 61 Services, more than a security group has rules for, with 3 rules on the node group, and leaves nothing once all are deleted', async () => {
    const services = Array.from({ length: 61 }, (_, i) => service(i, 30100 + i));
    const nodes = h.nodes();
    await inParallel(services, 8, async (svc) => {
      await h.ensureReady(svc, nodes);
    });
    const inv = await readInventory();
    assert.equal(inv.loadBalancers.length, 61);
    const backend = backendGroupName(clusterName);
    assert.deepEqual(nodeRules(inv), [
      `tcp/10256 from ${backend}`,
      `tcp/30000-32767 from ${backend}`,
      `udp/30000-32767 from ${backend}`,
    ]);
    assert.equal(inv.securityGroups.filter((g) => g.name === backend).length, 1);
    await inParallel(services, 8, deleteUntilDone);
    // The harness then finds only the node group, with no rule left.
  });

  it('keeps the backend group while another NLB holds it, and deletes it with the last one', async () => {
    const [a, b] = [service(1, 30101), service(2, 30102)];
    await h.ensureReady(a, h.nodes());
    await h.ensureReady(b, h.nodes());
    await deleteUntilDone(a);
    const inv = await readInventory();
    assert.ok(inv.securityGroups.some((g) => g.name === backendGroupName(clusterName)));
    assert.equal(nodeRules(inv).length, 3);
    await deleteUntilDone(b);
  });

  it('makes one backend group when two controllers create their first NLBs at once', async () => {
    const other = await newProvider(new RecordingCalls());
    try {
      const [a, b] = [service(1, 30101), service(2, 30102)];
      const ensure = async (provider: typeof other, svc: V1Service) => {
        for (let attempt = 1; ; attempt++) {
          try {
            await provider.ensureLoadBalancer(h.ctx, clusterName, svc, h.nodes());
            h.live.set(svc.metadata!.uid!, { service: svc, nodes: h.nodes() });
            return;
          } catch (err) {
            if (!(err instanceof RetryAfterError) || attempt >= 3) throw err;
          }
        }
      };
      await Promise.all([ensure(h.provider, a), ensure(other, b)]);
    } finally {
      await other.close?.();
    }
    // The harness checks there is exactly one backend group, held by both NLBs.
  });

  it('migrates per-Service node rules to the backend group with every NodePort admitted at every step', async () => {
    const svc = service(1, 30101, 30102);
    svc.spec!.loadBalancerSourceRanges = ['10.0.0.0/8'];
    await h.ensureReady(svc, h.nodes());
    await downgradeToPerServiceRules(svc);
    // The new version starts: nothing remembered.
    await h.provider.close?.();
    h.provider = await newProvider(h.calls);
    const frontendName = securityGroupName(clusterName, svc);
    const backend = backendGroupName(clusterName);
    let after = '';
    const admitted = async (at: string) => {
      const inv = await readInventory();
      const lb = inv.loadBalancers[0]!;
      const rules = nodeRules(inv);
      for (const port of [30101, 30102]) {
        const own =
          lb.securityGroups.includes(frontendName) &&
          rules.includes(`tcp/${port} from ${frontendName}`);
        const shared =
          lb.securityGroups.includes(backend) && rules.includes(`tcp/30000-32767 from ${backend}`);
        assert.ok(
          own || shared,
          `after ${at}: NodePort ${port} is closed to the NLB (${rules.join(', ')})`,
        );
      }
    };
    // The ensure waits for each check before it hears back from its write: the state right then.
    h.calls.afterCall = async (operation) => {
      if (/^Describe/.test(operation)) return;
      after += ` ${operation}`;
      await admitted(after.trim());
    };
    await h.ensureReady(svc, h.nodes());
    h.calls.afterCall = undefined;
    assert.match(
      after,
      /SetSecurityGroups.*AuthorizeSecurityGroupIngress.*RevokeSecurityGroupIngress/,
    );
  });
});
