/**
 * How fast the AWS provider moves many Services at its default call budgets, against moto behind
 * a proxy that throttles as AWS does (its documented token buckets, per account and region), so
 * a budget above a bucket shows as Throttling answers. Run: `npx tsx bench/aws-pace.ts
 * [--services 300] [--limit-s 1200]`.
 *
 * For each budget set: N one-port Services created at once, time until all are Ready, then all
 * deleted at once, time until every one is gone (finalizer removed); the calls made, the
 * Throttling answers, and the throttles that ran out of the gate's attempts (the ones a sync
 * would see). Figures, not assertions: moto's speed and the machine's load move them.
 */
import type { V1Node } from '@kubernetes/client-node';
import type { CallBudget } from '../contract/cloud-calls.js';
import type { ProviderFactory } from '../contract/provider.js';
import { findReadyCondition } from '../controllers/service/status.js';
import { awsCallBudgets, createAwsClients } from '../providers/aws/clients.js';
import { parseAwsConfig } from '../providers/aws/config.js';
import { AwsProvider } from '../providers/aws/provider.js';
import { CloudCallGate, type CloudCallsOptions } from '../runtime/cloud-calls.js';
import { newNode, newPostedService, tweakProviderID } from '../test/fixtures/builders.js';
import { startTestCluster } from '../test/support/cluster.js';
import { startFaultProxy, type FaultProxy } from '../test/support/fault-proxy.js';
import { seedAccount, startAwsEndpoint } from '../test/support/moto.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const serviceCount = flag('services', 300);
const limitMs = flag('limit-s', 1200) * 1000;
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const clusterName = 'bench-scale';
const production = { baseMs: 5000, maxMs: 300_000, jitter: 0.1 };

/** The budgets before they were derived from AWS's buckets. */
const before: Record<string, CallBudget> = {
  default: { qps: 5, burst: 10, concurrency: 4 },
  describe: { qps: 8, burst: 30, concurrency: 8 },
  mutate: { qps: 3, burst: 10, concurrency: 4 },
  register: { qps: 3, burst: 10, concurrency: 4 },
  'ec2-describe': { qps: 15, burst: 50, concurrency: 8 },
  'ec2-mutate': { qps: 3, burst: 10, concurrency: 4 },
};

/**
 * AWS's buckets: ELBv2 throttles per account (Describe* 40 at 10/s, target registration 20 at
 * 4/s, the other writes taken as 40 at 10/s); EC2 per action (non-mutating 100 at 20/s,
 * mutating 50 at 5/s).
 */
function awsBuckets(): (action: string, api: 'elb' | 'ec2') => boolean {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const take = (key: string, capacity: number, rate: number) => {
    const now = performance.now() / 1000;
    const b = buckets.get(key) ?? { tokens: capacity, at: now };
    b.tokens = Math.min(capacity, b.tokens + (now - b.at) * rate);
    b.at = now;
    buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  };
  return (action, api) => {
    if (api === 'ec2') {
      return /^Describe/.test(action)
        ? !take(`ec2:${action}`, 100, 20)
        : !take(`ec2:${action}`, 50, 5);
    }
    if (/^Describe/.test(action)) return !take('elb:describe', 40, 10);
    if (/^(Register|Deregister)Targets$/.test(action)) return !take('elb:register', 20, 4);
    return !take('elb:mutate', 40, 10);
  };
}

const endpoint = await startAwsEndpoint();

const providerVia =
  (proxy: FaultProxy): ProviderFactory =>
  async (options) => {
    const config = parseAwsConfig({ endpoint: proxy.url });
    return new AwsProvider({
      clients: createAwsClients(config, options.cloudCalls),
      clusterName: options.clusterName,
      config,
    });
  };

interface Run {
  readonly ready: number;
  readonly readySeconds: number;
  readonly gone: number;
  readonly goneSeconds: number;
  readonly calls: number;
  readonly throttled: number;
  readonly throttledOut: number;
  readonly failedSyncs: number;
}

async function run(gate: CloudCallsOptions): Promise<Run> {
  await endpoint.reset();
  const account = await seedAccount(clusterName, 3);
  const proxy = await startFaultProxy({ target: endpoint.url });
  proxy.throttle = awsBuckets();
  let calls = 0;
  let throttled = 0;
  let throttledOut = 0;
  const cloudCalls = new CloudCallGate({
    ...gate,
    observer: ({ outcome, attempt = 1 }) => {
      calls++;
      if (outcome !== 'throttled') return;
      throttled++;
      if (attempt >= 5) throttledOut++; // the gate's default throttleAttempts
    },
  });
  const nodes: V1Node[] = account.instances.map(({ id, zone }, i) => {
    const node = newNode(`node-${i + 1}`, tweakProviderID(`aws:///${zone}/${id}`));
    delete node.metadata!.uid;
    delete node.metadata!.resourceVersion;
    return node;
  });
  const c = await startTestCluster({
    provider: providerVia(proxy),
    cloudCalls,
    config: { clusterName, concurrentServiceSyncs: 50 },
    nodes,
    backoff: production,
  });
  try {
    const names = Array.from({ length: serviceCount }, (_, i) => `svc-${i}`);
    const started = performance.now();
    await Promise.all(
      names.map((name) =>
        c.core.createNamespacedService({ namespace: 'default', body: newPostedService(name) }),
      ),
    );
    const ready = () =>
      names.filter((n) => findReadyCondition(c.cached('default', n) ?? {})?.reason === 'Ready')
        .length;
    await c.until(() => ready() === serviceCount, 'all Ready', limitMs).catch(() => undefined);
    const readySeconds = (performance.now() - started) / 1000;
    const readyCount = ready();

    const deleting = performance.now();
    await Promise.all(
      names.map((name) => c.core.deleteNamespacedService({ namespace: 'default', name })),
    );
    const gone = () => names.filter((n) => !c.cached('default', n)).length;
    await c.until(() => gone() === serviceCount, 'all gone', limitMs).catch(() => undefined);
    return {
      ready: readyCount,
      readySeconds,
      gone: gone(),
      goneSeconds: (performance.now() - deleting) / 1000,
      calls,
      throttled,
      throttledOut,
      failedSyncs: c.syncs.filter((s) => s.result === 'error').length,
    };
  } finally {
    await c.stop();
    await proxy.close();
  }
}

const row = (label: string, r: Run) =>
  console.log(
    `${label.padEnd(40)} ${`${r.ready}/${serviceCount}`.padStart(7)} ${r.readySeconds.toFixed(1).padStart(7)} s` +
      ` ${`${r.gone}/${serviceCount}`.padStart(7)} ${r.goneSeconds.toFixed(1).padStart(7)} s` +
      ` ${String(r.calls).padStart(6)} ${String(r.throttled).padStart(9)} ${String(r.throttledOut).padStart(8)} ${String(r.failedSyncs).padStart(6)}`,
  );

try {
  console.log(`${serviceCount} one-port Services, moto behind AWS's token buckets`);
  console.log(
    `${'budgets'.padEnd(40)}   ready    time    gone    time  calls throttled gave-up failed`,
  );
  if (!only || only === 'before') {
    row('before (mutate and register 3/s)', await run({ budgetOverrides: before }));
  }
  if (!only || only === 'after') row('defaults (AWS buckets)', await run({}));
  if (!only || only === 'over') {
    // Three times every bucket: the throttles AWS answers steer the rate through the gate's pause.
    const over = Object.fromEntries(
      Object.entries(awsCallBudgets).map(([k, b]) => [
        k,
        { ...b, qps: b.qps * 3, burst: b.burst * 3 },
      ]),
    );
    row('3x the buckets (throttles steer)', await run({ budgetOverrides: over }));
  }
} finally {
  await endpoint.stop();
}
