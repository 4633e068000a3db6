/**
 * The hostile-input catalogue's shared parts: a row is one kind of bad Service, and running it
 * means creating it beside a good twin, then checking the bad one's condition and Warning and
 * that the twin still converges. The rows themselves live in the test files beside this one.
 */
import assert from 'node:assert/strict';
import type { CoreV1Event, V1Service } from '@kubernetes/client-node';
import { findReadyCondition } from '../../../controllers/service/status.js';
import { MESSAGE_LIMIT } from '../../../contract/quote.js';
import { newPostedService, type Tweak } from '../../fixtures/builders.js';
import type { TestCluster } from '../../support/cluster.js';

export interface ServiceRow {
  /** What kind of bad input, as the test title reads. */
  readonly kind: string;
  readonly tweaks: readonly Tweak<V1Service>[];
  /** The condition the bad Service must reach. */
  readonly reason: 'Invalid' | 'Failed';
  /** Matched against the condition message and the Warning Event's. */
  readonly message: RegExp;
  /** The Warning's reason. @default 'SyncLoadBalancerFailed' */
  readonly event?: string;
}

/** Creates the row's Service and a good twin; checks both as the row says. */
export async function runServiceRow(c: TestCluster, name: string, row: ServiceRow): Promise<void> {
  const bad = newPostedService(name, ...row.tweaks);
  const good = newPostedService(`${name}-twin`);
  await Promise.all(
    [bad, good].map((body) => c.core.createNamespacedService({ namespace: 'default', body })),
  );
  const condition = await c.until(() => {
    const found = findReadyCondition(c.cached('default', name) ?? {});
    return found?.reason === row.reason && found;
  }, `${name} to be ${row.reason}`);
  assert.match(condition.message ?? '', row.message);
  // Bounded, one line: a value someone wrote is never echoed whole, nor forges a line.
  assert.ok(
    (condition.message ?? '').length <= MESSAGE_LIMIT + 40,
    `condition of ${condition.message?.length} characters`,
  );
  assert.ok(!/[\n\r]/.test(condition.message ?? ''), 'a raw line break in the condition');
  await c.until(() => {
    const twin = c.cached('default', `${name}-twin`);
    return (
      twin &&
      findReadyCondition(twin)?.reason === 'Ready' &&
      (twin.status?.loadBalancer?.ingress?.length ?? 0) > 0
    );
  }, `${name}-twin to converge`);
  const warnings = (await eventsOf(c, name)).filter((e) => e.type === 'Warning');
  const warning = warnings.find(
    (e) =>
      e.reason === (row.event ?? 'SyncLoadBalancerFailed') && row.message.test(e.message ?? ''),
  );
  assert.ok(
    warning,
    `no ${row.event ?? 'SyncLoadBalancerFailed'} Warning matching ${row.message}: ${JSON.stringify(warnings.map((e) => [e.reason, e.message?.slice(0, 200)]))}`,
  );
  assert.ok(
    (warning.message ?? '').length <= MESSAGE_LIMIT + 40,
    `Event of ${warning.message?.length} characters`,
  );
}

/** The Events on `name`, once the syncs that could still record one have finished. */
export async function eventsOf(c: TestCluster, name: string): Promise<CoreV1Event[]> {
  await c.idle();
  await c.recorder.flush();
  const list = await c.core.listNamespacedEvent({ namespace: 'default' });
  return list.items.filter((e) => e.involvedObject.name === name);
}

/** Sets annotations. */
export const annotate =
  (annotations: Record<string, string>): Tweak<V1Service> =>
  (s) => {
    s.metadata!.annotations = { ...s.metadata!.annotations, ...annotations };
  };

/** 200 KB of one character: the size of value that once filled a condition, an Event and the log. */
export const HUGE = 'x'.repeat(200_000);

/** A value with a line break that would start a forged log line. */
export const FORGED = 'rr\nINFO  ensured load balancer service=kube-system/dns';
