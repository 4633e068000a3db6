/** Starts kube-lbc with the fake provider in a child process; see controller-worker.ts. */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import type { ControllerStats } from './controller-worker.js';

export type { ControllerStats };

export interface ControllerProcess {
  /** Date.now() when the child called startController, and when it began leading. */
  readonly startedAt: number;
  readonly leadingAt: number;
  /** `live` runs a full GC first and reports the heap it leaves. */
  stats(live?: boolean): Promise<ControllerStats>;
  /** Writes a heap snapshot of the controller's process to `path`. */
  snapshot(path: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startControllerProcess(options: {
  url: string;
  latencyMs: number;
  flags?: string[];
  execArgv?: string[];
}): Promise<ControllerProcess> {
  const ts = import.meta.url.endsWith('.ts');
  const child = fork(new URL(`./controller-worker.${ts ? 'ts' : 'js'}`, import.meta.url), {
    execArgv: [...(ts ? ['--import', 'tsx'] : []), ...(options.execArgv ?? [])],
    env: {
      ...process.env,
      KUBE_LBC_BENCH_CONTROLLER: JSON.stringify({
        url: options.url,
        latencyMs: options.latencyMs,
        flags: options.flags ?? [],
      }),
    },
  });
  const ask = async <T>(msg: { type: string; path?: string; live?: boolean }): Promise<T> => {
    child.send(msg);
    for (;;) {
      const [reply] = (await once(child, 'message')) as [{ type: string } & T];
      if (reply.type === msg.type) return reply;
    }
  };
  const [first] = (await once(child, 'message')) as [
    { type: string; startedAt: number; leadingAt: number },
  ];
  if (first.type !== 'ready') throw new Error(`controller process: ${JSON.stringify(first)}`);
  return {
    startedAt: first.startedAt,
    leadingAt: first.leadingAt,
    stats: async (live) => (await ask<{ stats: ControllerStats }>({ type: 'stats', live })).stats,
    snapshot: async (path) => void (await ask({ type: 'snapshot', path })),
    async stop() {
      child.send({ type: 'stop' });
      await once(child, 'exit');
    },
  };
}
