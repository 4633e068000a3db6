/**
 * The local provider end to end: the API emulator, the real controller, real sockets. A Service
 * gets a pool address in its status and connections to it reach the nodes' NodePorts, with the
 * balancer in the controller (in-process mode) or in a proxy agent (controller mode).
 */
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import type { V1Service } from '@kubernetes/client-node';
import { createLocalProvider, runProxyAgent } from '../../../providers/local/index.js';
import { noopLogger } from '../../../contract/logger.js';
import { newNode, newService, tweakNodeAddress } from '../../fixtures/builders.js';
import { startTestCluster, type TestCluster } from '../../support/cluster.js';
import { startBackends, whoAnswers, type NamedBackend } from './helpers.js';
import { accessFromKubeConfig } from '../../../runtime/cluster-access.js';

const servicePort = 18084;
const nodes = [
  newNode('node-1', tweakNodeAddress('127.243.81.1')),
  newNode('node-2', tweakNodeAddress('127.243.81.2')),
];

function webService(): V1Service {
  return newService('web', (s) => {
    // The emulator allocates the NodePort, as an API server does.
    s.spec!.ports = [{ name: 'http', port: servicePort, protocol: 'TCP' }];
  });
}

async function ingressAndNodePort(cluster: TestCluster): Promise<{ ip: string; nodePort: number }> {
  return cluster.until(() => {
    const svc = cluster.cached('default', 'web');
    const ip = svc?.status?.loadBalancer?.ingress?.[0]?.ip;
    const nodePort = svc?.spec?.ports?.[0]?.nodePort;
    return ip && nodePort ? { ip, nodePort } : undefined;
  }, 'an ingress address');
}

describe('local provider in a cluster', () => {
  let cluster: TestCluster | undefined;
  let backends: NamedBackend[] = [];

  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
    await Promise.all(backends.map((b) => b.stop()));
    backends = [];
  });

  it('in-process: the Service gets a pool address that spreads connections over the nodes', async () => {
    cluster = await startTestCluster({
      provider: createLocalProvider,
      cloudConfig: { addresses: ['127.243.80.1-127.243.80.2'] },
      nodes,
      services: [webService()],
    });
    const { ip, nodePort } = await ingressAndNodePort(cluster);
    assert.equal(ip, '127.243.80.1');
    backends = await startBackends('127.243.81', ['node-1', 'node-2'], nodePort);
    const names = [];
    for (let i = 0; i < 4; i++) names.push(await whoAnswers(ip, servicePort));
    assert.deepEqual(names.sort(), ['node-1', 'node-1', 'node-2', 'node-2']);
  });

  it('controller mode: the controller only allocates, and a proxy agent serves the address', async () => {
    const config = { addresses: ['127.243.82.1-127.243.82.2'] };
    cluster = await startTestCluster({
      provider: createLocalProvider,
      cloudConfig: { ...config, mode: 'controller' },
      nodes,
      services: [webService()],
    });
    const { ip, nodePort } = await ingressAndNodePort(cluster);
    backends = await startBackends('127.243.81', ['node-1', 'node-2'], nodePort);
    await assert.rejects(
      whoAnswers(ip, servicePort),
      /ECONNREFUSED/,
      'the controller serves nothing',
    );

    const abort = new AbortController();
    const passes = new EventEmitter();
    const agent = runProxyAgent({
      cluster: accessFromKubeConfig(cluster.kubeConfig),
      logger: noopLogger,
      signal: abort.signal,
      config,
      onSynced: () => passes.emit('pass'),
    });
    try {
      // Each pass sees the agent's own caches; the first with the status binds the address.
      let served: string | undefined;
      for (let pass = 0; pass < 20 && !served; pass++) {
        await once(passes, 'pass');
        served = await whoAnswers(ip, servicePort).catch(() => undefined);
      }
      assert.ok(served === 'node-1' || served === 'node-2', `served by ${served}`);
    } finally {
      abort.abort();
      await agent;
    }
    await assert.rejects(whoAnswers(ip, servicePort), /ECONNREFUSED/, 'the agent closed on abort');
  });
});
