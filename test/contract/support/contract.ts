/**
 * The contract driver: one table of cases, run against every target (see targets.ts). A case
 * that cannot hold on a given server (1.20 lacks a field or a group) names why, and the test
 * title carries that reason when it is skipped.
 */
import assert from 'node:assert/strict';
import { Watch } from '@kubernetes/client-node';
import { openTarget, targetKinds, type Target } from './targets.js';

export interface Case {
  desc: string;
  /** A reason this server cannot be held to the case, or undefined to run it. */
  skip?: (t: Target) => string | undefined;
  run: (t: Target) => Promise<void>;
}

export const before121 = (t: Target) =>
  t.minor < 21 ? `${t.gitVersion} predates the field (1.21+)` : undefined;

export function contract(title: string, cases: Case[]): void {
  for (const kind of targetKinds()) {
    describe(`${title} (${kind})`, function () {
      let t: Target | undefined;
      before(async function () {
        t = await openTarget(kind);
      });
      after(async () => {
        await t?.close();
      });
      for (const c of cases) {
        it(c.desc, async function () {
          const why = c.skip?.(t!);
          if (why) {
            this.test!.title += ` [not on ${t!.gitVersion}: ${why}]`;
            this.skip();
          }
          await c.run(t!);
        });
      }
    });
  }
}

interface ApiFailure {
  code: number;
  body: {
    kind?: string;
    reason?: string;
    message?: string;
    details?: {
      name?: string;
      kind?: string;
      group?: string;
      causes?: { field?: string; reason?: string; message?: string }[];
    };
  };
}

/** Awaits a call expected to fail and returns the parsed Status it failed with. */
export async function failure(call: Promise<unknown>): Promise<ApiFailure> {
  try {
    await call;
  } catch (err) {
    const e = err as { code?: number; body?: unknown };
    if (typeof e.code !== 'number') throw err;
    const body = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
    return { code: e.code, body: body as ApiFailure['body'] };
  }
  assert.fail('expected the call to fail');
}

export async function expectStatus(
  call: Promise<unknown>,
  code: number,
  reason: string,
): Promise<ApiFailure['body']> {
  const f = await failure(call);
  assert.equal(f.code, code, JSON.stringify(f.body));
  assert.equal(f.body.kind, 'Status');
  assert.equal(f.body.reason, reason, f.body.message);
  return f.body;
}

export interface WatchEvent {
  type: string;
  object: {
    kind?: string;
    code?: number;
    reason?: string;
    metadata?: { name?: string; resourceVersion?: string; annotations?: Record<string, string> };
    [k: string]: unknown;
  };
}

/**
 * Opens a watch with client-node's Watch and collects events until `until` says stop (or the
 * server ends the stream). Resolves with the events and why it ended.
 */
export async function collectWatch(
  t: Target,
  path: string,
  query: Record<string, string | number | boolean>,
  until: (events: WatchEvent[]) => boolean,
  options: { timeoutMs?: number; started?: () => Promise<void> } = {},
): Promise<{ events: WatchEvent[]; ended: 'until' | 'server' | 'timeout'; error?: unknown }> {
  const events: WatchEvent[] = [];
  return new Promise((resolve, reject) => {
    let settled = false;
    let controller: AbortController | undefined;
    const finish = (ended: 'until' | 'server' | 'timeout', error?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      controller?.abort();
      resolve({ events, ended, error });
    };
    const timer = setTimeout(() => finish('timeout'), options.timeoutMs ?? 5000);
    new Watch(t.kc)
      .watch(
        path,
        query,
        (type, object) => {
          events.push({ type, object });
          if (until(events)) finish('until');
        },
        (err) => finish('server', err ?? undefined),
      )
      .then(async (c) => {
        controller = c;
        if (settled) c.abort();
        else await options.started?.();
      })
      .catch(reject);
  });
}
