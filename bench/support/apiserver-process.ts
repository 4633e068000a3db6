/**
 * Starts the API emulator in a child process, so its memory is not in the measured process's RSS
 * (a worker thread shares the process: apiserver-thread.ts is for CPU, this is for memory).
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ApiServerOptions } from '../../sandbox/apiserver/index.js';
import { kubeConfigFor } from '../../sandbox/apiserver/kubeconfig.js';

export interface ApiServerProcess {
  readonly url: string;
  kubeConfig(): KubeConfig;
  close(): Promise<void>;
}

export async function startApiServerProcess(
  options: Omit<ApiServerOptions, 'logger'> = {},
): Promise<ApiServerProcess> {
  const ts = import.meta.url.endsWith('.ts');
  const child = fork(new URL(`./apiserver-worker.${ts ? 'ts' : 'js'}`, import.meta.url), {
    execArgv: ts ? ['--import', 'tsx'] : [],
    env: { ...process.env, KUBE_LBC_BENCH_APISERVER: JSON.stringify(options) },
  });
  const [ready] = (await once(child, 'message')) as [{ url: string }];
  return {
    url: ready.url,
    kubeConfig: () => kubeConfigFor(ready.url),
    async close() {
      child.send({ type: 'close' });
      await once(child, 'exit');
    },
  };
}
