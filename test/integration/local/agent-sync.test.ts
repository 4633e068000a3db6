import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import type { V1Service } from '@kubernetes/client-node';
import { AddressPool } from '../../../providers/local/address-pool.js';
import { runProxyAgent } from '../../../providers/local/agent.js';
import { desiredServices, reconcileDataPath } from '../../../providers/local/agent-sync.js';
import { DataPath } from '../../../providers/local/data-path.js';
import { parseRange, type IpRange } from '../../../providers/local/ipv4.js';
import { ClusterInformers } from '../../../runtime/cluster-informers.js';
import { HealthChecks } from '../../../runtime/http-server.js';
import { noopLogger } from '../../../contract/logger.js';
import { startApiServer, type ApiServer } from '../../../sandbox/apiserver/index.js';
import {
  newNode,
  newService,
  tweakAnnotations,
  tweakNodeAddress,
  tweakNodeLabels,
  tweakIngressIP,
} from '../../fixtures/builders.js';
import { startBackends, whoAnswers, type NamedBackend } from './helpers.js';
import { accessFromKubeConfig } from '../../../runtime/cluster-access.js';
import { kubeApiFor } from '../../../runtime/kube-api.js';

describe('local proxy agent sync', () => {
  const pool = new AddressPool([
    parseRange('127.243.200.0/24') as IpRange,
    parseRange('192.0.2.0/24') as IpRange, // TEST-NET-1: never local, so it cannot bind
  ]);
  let backends: NamedBackend[];
  let dataPath: DataPath;

  beforeEach(async () => {
    backends = await startBackends('127.243.4', ['node-1', 'node-2']);
    dataPath = new DataPath({
      maxConnections: 10,
      tcpIdleTimeoutMs: 10_000,
      udpIdleTimeoutMs: 10_000,
      healthCheck: { intervalMs: 1000, timeoutMs: 200, unhealthyThreshold: 1, healthyThreshold: 1 },
    });
  });
  afterEach(async () => {
    await dataPath.close();
    await Promise.all(backends.map((b) => b.stop()));
  });

  function service(name: string, ...tweaks: ((s: V1Service) => void)[]): V1Service {
    return newService(
      name,
      (s) => {
        s.spec!.ports = [{ port: 18082, protocol: 'TCP', nodePort: backends[0]!.port }];
      },
      ...tweaks,
    );
  }

  it('serves only LoadBalancer Services whose status carries a pool address, on eligible nodes', () => {
    const nodes = [
      newNode('node-1', tweakNodeAddress(backends[0]!.host)),
      newNode(
        'node-2',
        tweakNodeAddress(backends[1]!.host),
        tweakNodeLabels({ 'node.kubernetes.io/exclude-from-external-load-balancers': '' }),
      ),
    ];
    const { serve: specs } = desiredServices(
      [
        service('served', tweakIngressIP('127.243.200.1')),
        service('pending'),
        service('elsewhere', tweakIngressIP('10.0.0.1')),
        service('nodeport', tweakIngressIP('127.243.200.2'), (s) => (s.spec!.type = 'NodePort')),
      ],
      nodes,
      pool,
    );
    assert.deepEqual(
      specs.map((s) => s.name),
      ['default/served'],
    );
    assert.deepEqual(
      specs[0]!.ports[0]!.backends.map((b) => b.host),
      [backends[0]!.host],
    );
  });

  it('leaves a served Service untouched when an edit makes it invalid, as the controller does', async () => {
    const nodes = [newNode('node-1', tweakNodeAddress(backends[0]!.host))];
    const valid = service('edited', tweakIngressIP('127.243.200.3'));
    await reconcileDataPath(dataPath, desiredServices([valid], nodes, pool), noopLogger);
    assert.equal(await whoAnswers('127.243.200.3', 18082), 'node-1');
    // The controller refuses the edit (Invalid condition, address kept); the agent must neither
    // drop the Service (an outage) nor apply the refused spec (a second port, here).
    const invalid = service(
      'edited',
      tweakIngressIP('127.243.200.3'),
      tweakAnnotations({ 'kube-lbc.io/scheduler': 'bogus' }),
      (s) => {
        s.metadata!.uid = valid.metadata!.uid;
        s.spec!.ports!.push({ port: 18083, protocol: 'TCP', nodePort: backends[1]!.port });
      },
    );
    await reconcileDataPath(dataPath, desiredServices([invalid], nodes, pool), noopLogger);
    assert.equal(await whoAnswers('127.243.200.3', 18082), 'node-1');
    await assert.rejects(whoAnswers('127.243.200.3', 18083), /ECONNREFUSED/);
    // So too for what only the core refuses (a protocol the provider cannot serve).
    const sctp = service('edited', tweakIngressIP('127.243.200.3'), (s) => {
      s.metadata!.uid = valid.metadata!.uid;
      s.spec!.ports = [{ port: 18083, protocol: 'SCTP', nodePort: backends[1]!.port }];
    });
    await reconcileDataPath(dataPath, desiredServices([sctp], nodes, pool), noopLogger);
    assert.equal(await whoAnswers('127.243.200.3', 18082), 'node-1');
    // Deleted, it goes.
    await reconcileDataPath(dataPath, desiredServices([], nodes, pool), noopLogger);
    await assert.rejects(whoAnswers('127.243.200.3', 18082), /ECONNREFUSED/);
  });

  it('binds what it can, skips addresses this node does not hold, and removes what is gone', async () => {
    const nodes = backends.map((b) => newNode(b.name, tweakNodeAddress(b.host)));
    const here = service('here', tweakIngressIP('127.243.200.1'));
    const away = service('away', tweakIngressIP('192.0.2.1'));
    await reconcileDataPath(dataPath, desiredServices([here, away], nodes, pool), noopLogger);
    assert.equal(await whoAnswers('127.243.200.1', 18082), 'node-1');
    await reconcileDataPath(dataPath, desiredServices([away], nodes, pool), noopLogger);
    await assert.rejects(whoAnswers('127.243.200.1', 18082), /ECONNREFUSED/);
  });
});

describe('local proxy agent health', () => {
  let api: ApiServer;
  beforeEach(async () => {
    api = await startApiServer();
  });
  afterEach(async () => api.close());

  it('fails /healthz once an informer stops while the agent still serves, so the kubelet restarts it', async () => {
    const informers = new ClusterInformers(kubeApiFor(api.kubeConfig()));
    const checks = new HealthChecks();
    const abort = new AbortController();
    const passes = new EventEmitter();
    const agent = runProxyAgent({
      cluster: accessFromKubeConfig(api.kubeConfig()),
      logger: noopLogger,
      signal: abort.signal,
      config: { addresses: ['127.243.201.0/28'] },
      informers,
      checks,
      onSynced: () => passes.emit('pass'),
    });
    try {
      assert.deepEqual(
        (await checks.run('readyz', 'informer-sync')).map((r) => r.ok),
        [false],
        'not ready before the caches are synced',
      );
      while (!(informers.services.synced && informers.nodes.synced)) await once(passes, 'pass');
      assert.ok((await checks.run('healthz')).every((r) => r.ok));
      assert.ok((await checks.run('readyz')).every((r) => r.ok));
      // Its watch gone for good: the agent would serve what it last saw, forever.
      await informers.nodes.stop();
      const informerCheck = (await checks.run('healthz')).find((r) => r.name === 'informers');
      assert.deepEqual(informerCheck, {
        name: 'informers',
        ok: false,
        detail: 'the nodes informer has stopped',
      });
    } finally {
      abort.abort();
      await agent;
    }
  });
});
