/**
 * The API emulator in a worker thread or a child process, so a benchmark's API server has its own
 * event loop as a real one has its own process. The parent asks for the audit log by message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { startApiServer } from '../../sandbox/apiserver/index.js';

// A worker thread talks through parentPort; a forked child through process.send.
const port = parentPort ?? {
  postMessage: (msg: unknown) => process.send!(msg),
  on: (event: 'message', fn: (msg: { type: string }) => void) => process.on(event, fn),
};
const options = parentPort
  ? (workerData ?? {})
  : JSON.parse(process.env.KUBE_LBC_BENCH_APISERVER ?? '{}');
const api = await startApiServer(options);
port.postMessage({ type: 'ready', url: api.url });
port.on('message', async (msg: { type: string }) => {
  if (msg.type === 'audit') port.postMessage({ type: 'audit', audit: api.audit });
  if (msg.type === 'close') {
    await api.close();
    port.postMessage({ type: 'closed' });
    if (!parentPort) process.exit(0);
  }
});
