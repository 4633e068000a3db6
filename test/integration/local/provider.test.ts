import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { V1Node, V1Service } from '@kubernetes/client-node';
import { CloudError, InvalidServiceError } from '../../../contract/errors.js';
import { createLocalProvider, type LocalProvider } from '../../../providers/local/index.js';
import type { CallContext } from '../../../contract/provider.js';
import { CloudCallGate } from '../../../runtime/cloud-calls.js';
import { noopLogger } from '../../../contract/logger.js';
import {
  newNode,
  newService,
  tweakAnnotations,
  tweakLocalTraffic,
  tweakNodeAddress,
  tweakIngressIP,
} from '../../fixtures/builders.js';
import { startBackends, whoAnswers, type NamedBackend } from './helpers.js';

const pool = '127.243.100.1-127.243.100.3';
const servicePort = 18081;

interface Harness {
  provider: LocalProvider;
  services: V1Service[];
  events: { type: string; reason: string; message: string }[];
  ctx: CallContext;
  cloudCalls: CloudCallGate;
}

async function newProvider(
  config: Record<string, unknown> = {},
  services: V1Service[] = [],
): Promise<Harness> {
  const cloudCalls = new CloudCallGate();
  const provider = (await createLocalProvider({
    config: {
      addresses: [pool],
      healthCheck: { intervalSeconds: 0.02, timeoutSeconds: 0.2, unhealthyThreshold: 1 },
      ...config,
    },
    clusterName: 'test',
    logger: noopLogger,
    cloudCalls,
    cluster: { services: () => services, nodes: () => [] },
  })) as LocalProvider;
  const events: Harness['events'] = [];
  const ctx: CallContext = {
    signal: new AbortController().signal,
    logger: noopLogger,
    recordEvent: (type, reason, message) => events.push({ type, reason, message }),
  };
  return { provider, services, events, ctx, cloudCalls };
}

function service(name: string, nodePort: number, ...tweaks: ((s: V1Service) => void)[]): V1Service {
  return newService(
    name,
    (s) => {
      s.spec!.ports = [{ name: 'http', port: servicePort, protocol: 'TCP', nodePort }];
    },
    ...tweaks,
  );
}

/** kube-proxy's health endpoint on each node: 200 unless `status` says otherwise. */
async function startHealthz(hosts: string[], status: Record<string, number>, names: string[]) {
  const servers: http.Server[] = [];
  let port = 0;
  for (const [i, host] of hosts.entries()) {
    const code = status[names[i]!] ?? 200;
    const server = http.createServer((_req, res) => res.writeHead(code).end());
    server.listen(port, host);
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
    servers.push(server);
  }
  return {
    port,
    close: () => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))),
  };
}

describe('local provider (real sockets)', () => {
  let backends: NamedBackend[];
  let nodes: V1Node[];
  let h: Harness;

  beforeEach(async () => {
    backends = await startBackends('127.243.2', ['node-1', 'node-2']);
    nodes = backends.map((b) => newNode(b.name, tweakNodeAddress(b.host)));
    h = await newProvider();
  });
  afterEach(async () => {
    await h.provider.close();
    await Promise.all(backends.map((b) => b.stop()));
  });

  it('gives a Service a pool address and spreads its connections over the nodes’ NodePorts', async () => {
    const svc = service('web', backends[0]!.port);
    const status = await h.provider.ensureLoadBalancer(h.ctx, 'test', svc, nodes);
    assert.deepEqual(status, { ingress: [{ ip: '127.243.100.1' }] });
    const names = [];
    for (let i = 0; i < 4; i++) names.push(await whoAnswers('127.243.100.1', servicePort));
    assert.deepEqual(names, ['node-1', 'node-2', 'node-1', 'node-2']);
    assert.deepEqual(await h.provider.getLoadBalancer(h.ctx, 'test', svc), status);
    assert.ok(h.cloudCalls.totalCalls >= 2, 'operations go through the cloud-call gate');
  });

  it('changes nothing on a second ensure with the same input', async () => {
    const svc = service('web', backends[0]!.port);
    const first = await h.provider.ensureLoadBalancer(h.ctx, 'test', svc, nodes);
    const listener = h.provider.dataPath!.listener(
      svc.metadata!.uid!,
      '127.243.100.1',
      servicePort,
      'TCP',
    );
    const second = await h.provider.ensureLoadBalancer(h.ctx, 'test', svc, nodes);
    assert.deepEqual(second, first);
    assert.equal(
      h.provider.dataPath!.listener(svc.metadata!.uid!, '127.243.100.1', servicePort, 'TCP'),
      listener,
    );
    assert.deepEqual(h.events, []);
  });

  it('moves new connections off a node removed by updateLoadBalancerHosts', async () => {
    const svc = service('web', backends[0]!.port);
    await h.provider.ensureLoadBalancer(h.ctx, 'test', svc, nodes);
    await h.provider.updateLoadBalancerHosts(h.ctx, 'test', svc, [nodes[1]!]);
    for (let i = 0; i < 3; i++)
      assert.equal(await whoAnswers('127.243.100.1', servicePort), 'node-2');
  });

  it('throws a retryable PoolExhausted CloudError with a Warning when the pool runs out, leaving others served', async () => {
    const port = backends[0]!.port;
    for (const name of ['a', 'b', 'c'])
      await h.provider.ensureLoadBalancer(h.ctx, 'test', service(name, port), nodes);
    await assert.rejects(
      h.provider.ensureLoadBalancer(h.ctx, 'test', service('d', port), nodes),
      (err: unknown) =>
        err instanceof CloudError && err.cloudCode === 'PoolExhausted' && err.retryable,
    );
    assert.deepEqual(
      h.events.map((e) => [e.type, e.reason]),
      [['Warning', 'AddressPoolExhausted']],
    );
    assert.equal(await whoAnswers('127.243.100.3', servicePort), 'node-1');
  });

  it('gives a requested address once: a second Service asking for it gets a Warning and no address', async () => {
    const port = backends[0]!.port;
    const ask = tweakAnnotations({ 'kube-lbc.io/load-balancer-ip': '127.243.100.2' });
    const first = service('first', port, ask);
    const second = service('second', port, ask);
    assert.deepEqual(await h.provider.ensureLoadBalancer(h.ctx, 'test', first, nodes), {
      ingress: [{ ip: '127.243.100.2' }],
    });
    await assert.rejects(
      h.provider.ensureLoadBalancer(h.ctx, 'test', second, nodes),
      (err: unknown) => err instanceof CloudError && err.cloudCode === 'AddressInUse',
    );
    assert.deepEqual(
      h.events.map((e) => e.reason),
      ['LoadBalancerIPNotAvailable'],
    );
    assert.equal(await h.provider.getLoadBalancer(h.ctx, 'test', second), undefined);
    const outside = service('outside', port, (s) => (s.spec!.loadBalancerIP = '10.1.2.3'));
    // Outside the pool is the Service's mistake, not a failure to retry: Invalid, naming the field.
    await assert.rejects(
      h.provider.ensureLoadBalancer(h.ctx, 'test', outside, nodes),
      (err: unknown) =>
        err instanceof InvalidServiceError &&
        err.fieldErrors[0]?.field === 'spec.loadBalancerIP' &&
        /"10\.1\.2\.3" is not in the address pool/.test(err.message),
    );
    assert.deepEqual(
      h.provider.validateService(outside).map((e) => e.field),
      ['spec.loadBalancerIP'],
    );
  });

  it('releases the address and closes the listener on delete; deleting twice is fine', async () => {
    const svc = service('web', backends[0]!.port);
    await h.provider.ensureLoadBalancer(h.ctx, 'test', svc, nodes);
    await h.provider.ensureLoadBalancerDeleted(h.ctx, 'test', svc);
    await h.provider.ensureLoadBalancerDeleted(h.ctx, 'test', svc);
    await assert.rejects(whoAnswers('127.243.100.1', servicePort), /ECONNREFUSED/);
    assert.equal(await h.provider.getLoadBalancer(h.ctx, 'test', svc), undefined);
    const next = await h.provider.ensureLoadBalancer(
      h.ctx,
      'test',
      service('next', backends[0]!.port),
      nodes,
    );
    assert.deepEqual(next, { ingress: [{ ip: '127.243.100.1' }] });
  });

  it('keeps every address across a restart, rebuilt from Service statuses', async () => {
    await h.provider.close();
    const port = backends[0]!.port;
    const existing = [
      service('kept-1', port, tweakIngressIP('127.243.100.2')),
      service('kept-2', port, tweakIngressIP('127.243.100.1')),
    ];
    h = await newProvider({}, existing);
    const fresh = await h.provider.ensureLoadBalancer(h.ctx, 'test', service('fresh', port), nodes);
    assert.deepEqual(
      fresh,
      { ingress: [{ ip: '127.243.100.3' }] },
      'a new Service gets a free address',
    );
    for (const svc of existing) {
      const status = await h.provider.ensureLoadBalancer(h.ctx, 'test', svc, nodes);
      assert.deepEqual(status.ingress, svc.status!.loadBalancer!.ingress);
    }
  });

  it('for externalTrafficPolicy Local, avoids a node whose /healthz says it has no endpoints', async () => {
    const healthz = await startHealthz(
      backends.map((b) => b.host),
      { 'node-2': 503 },
      backends.map((b) => b.name),
    );
    try {
      const svc = service('local', backends[0]!.port, tweakLocalTraffic(healthz.port));
      await h.provider.ensureLoadBalancer(h.ctx, 'test', svc, nodes);
      const down = await once(h.provider.dataPath!.health, 'change');
      assert.deepEqual(down, [`http://${backends[1]!.host}:${healthz.port}/healthz`, false]);
      for (let i = 0; i < 3; i++)
        assert.equal(await whoAnswers('127.243.100.1', servicePort), 'node-1');
    } finally {
      await healthz.close();
    }
  });

  it('rejects an invalid Service before touching the pool', async () => {
    const svc = service(
      'bad',
      backends[0]!.port,
      tweakAnnotations({ 'kube-lbc.io/scheduler': 'fastest' }),
    );
    assert.equal(h.provider.validateService(svc).length, 1);
    await assert.rejects(
      h.provider.ensureLoadBalancer(h.ctx, 'test', svc, nodes),
      InvalidServiceError,
    );
    assert.equal(await h.provider.getLoadBalancer(h.ctx, 'test', svc), undefined);
  });

  it('in controller mode allocates addresses but serves nothing (the agents do)', async () => {
    await h.provider.close();
    h = await newProvider({ mode: 'controller' });
    const svc = service('web', backends[0]!.port);
    assert.deepEqual(await h.provider.ensureLoadBalancer(h.ctx, 'test', svc, nodes), {
      ingress: [{ ip: '127.243.100.1' }],
    });
    assert.equal(h.provider.dataPath, undefined);
    await assert.rejects(whoAnswers('127.243.100.1', servicePort), /ECONNREFUSED/);
  });
});
