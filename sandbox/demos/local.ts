/**
 * The local provider in-process: the embedded L4 balancer binds each Service's address on
 * loopback, so requests really go through it. Without `--address-pool` the sandbox takes the
 * first 127.240.N.0/24 block whose first address is free at the sample port (another sandbox, a
 * `make demo` or a test may hold 127.240.0.1), with the pool in its lower half and the nodes at
 * .201-.203.
 */
import { createServer } from 'node:net';
import { sandboxNodes, type DemoSetup } from './types.js';

export const localDemo: DemoSetup = async (ctx) => {
  let pool = ctx.addressPool;
  let nodeIp = (i: number) => `127.0.0.${10 + i}`;
  if (!pool) {
    const block = await freeBlock(ctx.samplePort);
    pool = `127.240.${block}.0/25`;
    nodeIp = (i) => `127.240.${block}.${200 + i}`;
  }
  ctx.say(`provider local: the embedded load balancer, addresses from ${pool}`);
  return {
    cloudConfig: { addresses: [pool] },
    nodes: sandboxNodes(nodeIp, (name) => `sandbox://${name}`),
    carriesTraffic: true,
    close: async () => {},
  };
};

async function freeBlock(port: number): Promise<number> {
  for (let block = 0; block < 256; block++) {
    if (await canListen(`127.240.${block}.1`, port)) return block;
  }
  throw new Error(`no 127.240.N.1:${port} is free; give --address-pool`);
}

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}
