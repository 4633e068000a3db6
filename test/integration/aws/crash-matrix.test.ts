/**
 * The crash matrix: create, port change, scheme change (a new NLB) and delete, each interrupted
 * after its k-th write for every k, then run again by a fresh provider (a restarted controller
 * remembers nothing). The account must end exactly as one uninterrupted run leaves it: no
 * duplicate, no orphan, no rule or target missing, no flag left on the NLB. Two ways to stop: the
 * process dies (the gate throws once the write has landed), and the lease is lost (ctx.signal
 * aborts; no further write may go). Attachment is read from listeners on both sides, since moto's
 * LoadBalancerArns would hide a group left off every listener (see harness.ts).
 */
import assert from 'node:assert/strict';
import type { V1Service } from '@kubernetes/client-node';
import { annotation } from '../../../providers/aws/annotations.js';
import { RetryAfterError } from '../../../contract/errors.js';
import type { CallContext } from '../../../contract/provider.js';
import { noopLogger } from '../../../contract/logger.js';
import {
  newNode,
  newService,
  tweakAddPorts,
  tweakProviderID,
  tweakSourceRanges,
} from '../../fixtures/builders.js';
import { seedAccount, type SeededAccount } from '../../support/moto.js';
import {
  assertInventoryMatches,
  clusterName,
  newProvider,
  RecordingCalls,
  useAwsHarness,
} from './harness.js';
import { readInventory } from './inventory.js';

const svc = newService(
  'web',
  tweakSourceRanges('10.0.0.0/8'),
  tweakAddPorts({ name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 }),
);
/** Repoints 80 (new NodePort), drops 53/UDP, adds 443, narrows the source ranges. */
const changed = structuredClone(svc);
changed.spec!.ports = [
  { name: 'http', port: 80, protocol: 'TCP', nodePort: 30090 },
  { name: 'https', port: 443, protocol: 'TCP', nodePort: 30443 },
];
changed.spec!.loadBalancerSourceRanges = ['10.1.0.0/16'];
/** The same, and internal: a new NLB replaces the old one, reusing the group port 80 keeps. */
const moved = structuredClone(changed);
moved.spec!.ports![0]!.nodePort = 30080;
moved.metadata!.annotations = { [annotation.scheme]: 'internal' };

type Op = 'create' | 'port change' | 'scheme and port change' | 'delete';

describe('aws provider crash matrix against moto: every write of create, port change, scheme change, delete', function () {
  this.timeout(300_000);
  const h = useAwsHarness();

  const nodesOf = (account: SeededAccount) =>
    account.instances
      .slice(0, 3)
      .map((i, n) => newNode(`node-${n + 1}`, tweakProviderID(`aws:///${i.zone}/${i.id}`)));

  async function ensureDone(calls: RecordingCalls, service: V1Service, ctx: CallContext) {
    const provider = await newProvider(calls);
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await provider.ensureLoadBalancer(ctx, clusterName, service, nodesOf(h.account));
          return;
        } catch (err) {
          if (!(err instanceof RetryAfterError) || attempt >= 3) throw err;
        }
      }
    } finally {
      await provider.close?.();
    }
  }

  async function deleteDone(calls: RecordingCalls, ctx: CallContext) {
    const provider = await newProvider(calls);
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await provider.ensureLoadBalancerDeleted(ctx, clusterName, svc);
          return;
        } catch (err) {
          if (!(err instanceof RetryAfterError) || attempt >= 3) throw err;
        }
      }
    } finally {
      await provider.close?.();
    }
  }

  /** One fresh account with the state the operation starts from. */
  async function before(op: Op): Promise<void> {
    await h.endpoint.reset();
    h.account = await seedAccount(clusterName);
    if (op !== 'create') await ensureDone(new RecordingCalls(), svc, h.ctx);
  }

  function run(op: Op, calls: RecordingCalls, ctx: CallContext): Promise<void> {
    if (op === 'delete') return deleteDone(calls, ctx);
    return ensureDone(calls, target(op), ctx);
  }

  const target = (op: Op) => (op === 'create' ? svc : op === 'port change' ? changed : moved);

  const live = (op: Op) =>
    op === 'delete'
      ? new Map()
      : new Map([[svc.metadata!.uid!, { service: target(op), nodes: nodesOf(h.account) }]]);

  /** The inventory with the IDs a fresh account makes up (instances, subnets, groups) masked. */
  async function snapshot(): Promise<string> {
    return JSON.stringify(await readInventory()).replace(
      /\b(i|subnet|sg|vpc)-[0-9a-f]{8,17}\b/g,
      '$1-*',
    );
  }

  for (const op of ['create', 'port change', 'scheme and port change', 'delete'] as const) {
    for (const mode of ['crash', 'lost lease'] as const) {
      it(`${op}: stopped by a ${mode} after each write k, a fresh provider ends where one clean run does`, async () => {
        await before(op);
        const clean = new RecordingCalls();
        await run(op, clean, h.ctx);
        const total = clean.writes().length;
        assert.ok(total > 0);
        const expected = await snapshot();
        await assertInventoryMatches(live(op));

        for (let k = 1; k <= total; k++) {
          await before(op);
          const calls = new RecordingCalls();
          const lease = new AbortController();
          const ctx = { ...h.ctx, signal: lease.signal, logger: noopLogger };
          if (mode === 'crash') calls.crashAfterWrite = k;
          else
            calls.afterCall = () => {
              if (calls.writes().length === k) lease.abort(new Error('lost the lease'));
            };
          const stopped = await run(op, calls, ctx).then(
            () => undefined,
            (err: Error) => err,
          );
          // After the last write nothing is left to refuse: the run may finish.
          if (mode === 'crash' || k < total) {
            const want = mode === 'crash' ? /simulated crash/ : /lost the lease/;
            assert.match(stopped?.message ?? 'finished', want, `k=${k}`);
          }
          if (mode === 'lost lease') {
            assert.equal(calls.writes().length, k, `k=${k}: no write after the abort`);
          }
          await run(op, new RecordingCalls(), h.ctx);
          await assertInventoryMatches(live(op)).catch((err: Error) => {
            throw new Error(
              `${op}, ${mode} after write ${k} (${calls.writes()[k - 1]}): ${err.message}`,
            );
          });
          assert.equal(
            await snapshot(),
            expected,
            `${op}, ${mode} after write ${k} (${calls.writes()[k - 1]})`,
          );
        }
        h.live = live(op);
      });
    }
  }
});
