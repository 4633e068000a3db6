/**
 * kube-lbc with the fake provider in a child process of its own, so its RSS is measured alone.
 * It answers the parent's messages: `stats` (cloud calls by method, memory), `snapshot` (a heap
 * snapshot written to the path given), `stop`.
 */
import { setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { configFromArgs } from '../../app/options/flags.js';
import { startController } from '../../app/controller-manager.js';
import { sharedFakeCloud } from '../../providers/fake/index.js';
import { noopLogger } from '../../contract/logger.js';
import { staticAccess } from '../../runtime/cluster-access.js';

export interface ControllerStats {
  /** Cloud calls by method since the start, and UpdateHosts calls by Service. */
  calls: Record<string, number>;
  updateHostsByService: Record<string, number>;
  rss: number;
  /** The process's peak RSS so far (getrusage). */
  peakRss: number;
  heapUsed: number;
  /** The largest heapUsed seen, sampled every 50 ms. */
  peakHeapUsed: number;
  /** heapUsed after a full GC (asked for with `live`): what is really retained. */
  liveHeapUsed?: number;
}

// A full GC on request, without starting the process with --expose-gc.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const { url, latencyMs, flags } = JSON.parse(process.env.KUBE_LBC_BENCH_CONTROLLER!) as {
  url: string;
  latencyMs: number;
  flags: string[];
};
const config = configFromArgs([
  '--cloud-provider',
  'fake',
  '--metrics-bind-address',
  '0',
  '--health-probe-bind-address',
  '0',
  ...flags,
]);
const cloud = sharedFakeCloud();
let peakHeapUsed = 0;
setInterval(() => {
  peakHeapUsed = Math.max(peakHeapUsed, process.memoryUsage().heapUsed);
}, 50).unref();
const startedAt = Date.now();
const running = await startController(config, {
  // As `kube-lbc run` reaches a server: without client-node's KubeConfig (and its generated API).
  cluster: staticAccess({ server: url }, {}),
  cloudConfig: { latencyMs },
  logger: noopLogger,
  version: 'bench',
});
await running.leading;

const stats = (live = false): ControllerStats => {
  const calls: Record<string, number> = {};
  const updateHostsByService: Record<string, number> = {};
  for (const c of cloud.calls) {
    calls[c.method] = (calls[c.method] ?? 0) + 1;
    if (c.method === 'UpdateHosts' && c.service)
      updateHostsByService[c.service] = (updateHostsByService[c.service] ?? 0) + 1;
  }
  const mem = process.memoryUsage();
  peakHeapUsed = Math.max(peakHeapUsed, mem.heapUsed);
  let liveHeapUsed: number | undefined;
  if (live) {
    gc();
    liveHeapUsed = process.memoryUsage().heapUsed;
  }
  return {
    liveHeapUsed,
    calls,
    updateHostsByService,
    rss: mem.rss,
    peakRss: process.resourceUsage().maxRSS * 1024,
    heapUsed: mem.heapUsed,
    peakHeapUsed,
  };
};
process.on('message', async (msg: { type: string; path?: string; live?: boolean }) => {
  if (msg.type === 'stats') process.send!({ type: 'stats', stats: stats(msg.live) });
  if (msg.type === 'snapshot')
    process.send!({ type: 'snapshot', path: writeHeapSnapshot(msg.path) });
  if (msg.type === 'stop') {
    await running.stop();
    process.exit(0);
  }
});
process.send!({ type: 'ready', startedAt, leadingAt: Date.now() });
