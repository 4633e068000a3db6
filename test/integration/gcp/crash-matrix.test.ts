/**
 * The crash matrix: create, port change (mixed TCP+UDP to TCP only, new source ranges), node
 * change (nodes joining and leaving in two zones), delete, release and the ensure that takes a
 * released load balancer back, each stopped after its k-th write
 * for every k, then run again by a fresh provider. The emulator must end exactly as one
 * uninterrupted run leaves it. Two ways to stop: the process dies (the gate throws once the write
 * reached the cloud, before its Operation is waited for), and the lease is lost (ctx.signal
 * aborts; no further write may go).
 */
import assert from 'node:assert/strict';
import type { V1Node, V1Service } from '@kubernetes/client-node';
import type { CallContext } from '../../../contract/provider.js';
import { noopLogger } from '../../../contract/logger.js';
import type { ComputeEmulator } from '../../../sandbox/compute/index.js';
import { newService, tweakAddPorts, tweakSourceRanges } from '../../fixtures/builders.js';
import {
  clusterName,
  inventoryOf,
  newGcpProvider,
  nodesOf,
  RecordingCalls,
  startEmulator,
} from './harness.js';

const svc = newService(
  'web',
  tweakSourceRanges('10.0.0.0/8'),
  tweakAddPorts({ name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 }),
);
/** TCP only now (the L3_DEFAULT rule gives way to a TCP one), 443 added, narrower ranges. */
const changed = structuredClone(svc);
changed.spec!.ports = [
  { name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 },
  { name: 'https', port: 443, protocol: 'TCP', nodePort: 30443 },
];
changed.spec!.loadBalancerSourceRanges = ['10.1.0.0/16'];

type Op = 'create' | 'port change' | 'node change' | 'delete' | 'release' | 'take back';

describe('gcp provider crash matrix against the Compute emulator: every write of create, port change, node change, delete, release, take-back', function () {
  this.timeout(300_000);
  let emu: ComputeEmulator;
  const ctx: CallContext = {
    signal: new AbortController().signal,
    logger: noopLogger,
    recordEvent: () => {},
  };
  before(async () => {
    emu = await startEmulator();
  });
  after(async () => {
    await emu.close();
  });

  const firstNodes = () => nodesOf(emu, 1, 2, 4);
  const laterNodes = () => nodesOf(emu, 2, 3, 5, 6);

  async function withProvider(
    calls: RecordingCalls,
    nodes: V1Node[],
    fn: (p: Awaited<ReturnType<typeof newGcpProvider>>) => Promise<void>,
  ) {
    const provider = await newGcpProvider(emu, calls, {
      cluster: { services: () => [], nodes: () => nodes },
    });
    try {
      await fn(provider);
    } finally {
      await provider.close?.();
    }
  }

  function run(op: Op, calls: RecordingCalls, c: CallContext): Promise<void> {
    switch (op) {
      case 'create':
        return withProvider(
          calls,
          firstNodes(),
          async (p) => void (await p.ensureLoadBalancer(c, clusterName, svc, firstNodes())),
        );
      case 'port change':
        return withProvider(
          calls,
          firstNodes(),
          async (p) => void (await p.ensureLoadBalancer(c, clusterName, changed, firstNodes())),
        );
      case 'node change':
        return withProvider(calls, laterNodes(), (p) =>
          p.updateLoadBalancerHosts(c, clusterName, svc, laterNodes()),
        );
      case 'delete':
        return withProvider(calls, firstNodes(), (p) =>
          p.ensureLoadBalancerDeleted(c, clusterName, svc),
        );
      case 'release':
        return withProvider(calls, firstNodes(), (p) =>
          p.releaseLoadBalancer!(c, clusterName, svc),
        );
      case 'take back':
        return run('create', calls, c);
    }
  }

  /** A clean emulator with the state the operation starts from. */
  async function start(op: Op): Promise<void> {
    emu.reset();
    if (op !== 'create') await run('create', new RecordingCalls(), ctx);
    if (op === 'take back') await run('release', new RecordingCalls(), ctx);
  }

  const snapshot = () =>
    JSON.stringify(
      inventoryOf(emu)
        .map((r) => JSON.stringify(r))
        .sort(),
    );

  const ops = ['create', 'port change', 'node change', 'delete', 'release', 'take back'] as const;
  for (const op of ops) {
    for (const mode of ['crash', 'lost lease'] as const) {
      it(`${op}: stopped by a ${mode} after each write k, a fresh provider ends where one clean run does`, async () => {
        await start(op);
        const clean = new RecordingCalls();
        await run(op, clean, ctx);
        const total = clean.writes().length;
        assert.ok(total > 0);
        const expected = snapshot();
        if (op === 'delete') assert.deepEqual(inventoryOf(emu), []);

        for (let k = 1; k <= total; k++) {
          await start(op);
          const calls = new RecordingCalls();
          const lease = new AbortController();
          const c = { ...ctx, signal: lease.signal };
          if (mode === 'crash') calls.crashAfterWrite = k;
          else
            calls.afterCall = () => {
              if (calls.writes().length === k) lease.abort(new Error('lost the lease'));
            };
          const stopped = await run(op, calls, c).then(
            () => undefined,
            (err: Error) => err,
          );
          if (mode === 'crash' || k < total) {
            assert.match(
              stopped?.message ?? 'finished',
              mode === 'crash' ? /simulated crash/ : /lost the lease/,
              `k=${k}`,
            );
          }
          if (mode === 'lost lease')
            assert.equal(calls.writes().length, k, `k=${k}: no write after the abort`);
          await run(op, new RecordingCalls(), ctx);
          assert.equal(
            snapshot(),
            expected,
            `${op}, ${mode} after write ${k} (${calls.writes()[k - 1]})`,
          );
        }
      });
    }
  }
});
