/**
 * The API emulator in a worker thread, so a benchmark's API server has its own event loop as a
 * real one has its own process. The parent asks for the audit log by message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { startApiServer } from '../../sandbox/apiserver/index.js';

const api = await startApiServer(workerData ?? {});
parentPort!.postMessage({ type: 'ready', url: api.url });
parentPort!.on('message', async (msg: { type: string }) => {
  if (msg.type === 'audit') parentPort!.postMessage({ type: 'audit', audit: api.audit });
  if (msg.type === 'close') {
    await api.close();
    parentPort!.postMessage({ type: 'closed' });
  }
});
