/** Starts the API emulator in a worker thread; see apiserver-worker.ts. */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { KubeConfig } from '@kubernetes/client-node';
import type { AuditRecord } from '../../sandbox/apiserver/index.js';
import { kubeConfigFor } from '../../sandbox/apiserver/kubeconfig.js';

export interface ApiServerThread {
  readonly url: string;
  kubeConfig(): KubeConfig;
  audit(): Promise<AuditRecord[]>;
  close(): Promise<void>;
}

export async function startApiServerThread(): Promise<ApiServerThread> {
  // Under tsx (sources) the worker registers tsx itself; compiled, it loads the .js directly.
  const ts = import.meta.url.endsWith('.ts');
  const script = new URL(`./apiserver-worker.${ts ? 'ts' : 'js'}`, import.meta.url).href;
  const worker = ts
    ? new Worker(
        `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(script)}); });`,
        { eval: true },
      )
    : new Worker(new URL(script));
  const [ready] = (await once(worker, 'message')) as [{ url: string }];
  const ask = async <T>(type: string): Promise<T> => {
    worker.postMessage({ type });
    for (;;) {
      const [msg] = (await once(worker, 'message')) as [{ type: string } & T];
      if (msg.type === type || (type === 'close' && msg.type === 'closed')) return msg;
    }
  };
  return {
    url: ready.url,
    kubeConfig: () => kubeConfigFor(ready.url),
    audit: async () => (await ask<{ audit: AuditRecord[] }>('audit')).audit,
    async close() {
      await ask('close');
      await worker.terminate();
    },
  };
}
