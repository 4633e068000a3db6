import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Registry, Counter } from 'prom-client';
import {
  HealthChecks,
  addLeaderElectionChecks,
  parseBindAddress,
  startHttpServers,
  type RunningHttpServers,
} from '../../../runtime/http-server.js';

interface Reply {
  status: number;
  type: string | undefined;
  body: string;
}

function get(address: string, path: string, method = 'GET'): Promise<Reply> {
  const url = new URL(path, `http://${address}`);
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, type: res.headers['content-type'], body }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('http servers', () => {
  let checks: HealthChecks;
  let registry: Registry;
  let servers: RunningHttpServers | undefined;

  beforeEach(() => {
    checks = new HealthChecks();
    registry = new Registry();
    new Counter({ name: 'probe_total', help: 'a test series', registers: [registry] }).inc(3);
  });
  afterEach(async () => {
    await servers?.close();
    servers = undefined;
  });
  async function start(metrics = '127.0.0.1:0', probes = '127.0.0.1:0') {
    servers = await startHttpServers({
      metricsBindAddress: metrics,
      healthProbeBindAddress: probes,
      registry,
      checks,
    });
    return servers;
  }

  it('serves the registry in the Prometheus text format on /metrics', async () => {
    const s = await start();
    const reply = await get(s.metricsAddress!, '/metrics');
    assert.equal(reply.status, 200);
    assert.equal(reply.type, registry.contentType);
    assert.match(reply.body, /^probe_total 3$/m);
  });

  it('keeps metrics and probes apart on two addresses', async () => {
    const s = await start();
    assert.notEqual(s.metricsAddress, s.healthProbeAddress);
    assert.equal((await get(s.metricsAddress!, '/healthz')).status, 404);
    assert.equal((await get(s.healthProbeAddress!, '/metrics')).status, 404);
    assert.equal((await get(s.healthProbeAddress!, '/healthz')).status, 200);
  });

  it('serves everything from one server when both flags name the same address', async () => {
    const probe = await startHttpServers({
      metricsBindAddress: '127.0.0.1:0',
      healthProbeBindAddress: '0',
      registry,
      checks,
    });
    const port = probe.metricsAddress!.split(':')[1];
    await probe.close();
    const s = await start(`127.0.0.1:${port}`, `127.0.0.1:${port}`);
    assert.equal(s.metricsAddress, s.healthProbeAddress);
    assert.equal((await get(s.metricsAddress!, '/metrics')).status, 200);
    assert.equal((await get(s.metricsAddress!, '/readyz')).status, 200);
  });

  it('answers ok while every check passes', async () => {
    checks.addHealthCheck('informers', () => {});
    checks.addReadyCheck('caches-synced', async () => {});
    const s = await start();
    assert.deepEqual(await get(s.healthProbeAddress!, '/healthz'), {
      status: 200,
      type: 'text/plain; charset=utf-8',
      body: 'ok',
    });
    assert.equal((await get(s.healthProbeAddress!, '/readyz')).body, 'ok');
  });

  it('answers 500 naming the failed check and its reason', async () => {
    checks.addReadyCheck('caches-synced', () => {
      throw new Error('services informer not synced');
    });
    checks.addReadyCheck('provider', () => {});
    const s = await start();
    const reply = await get(s.healthProbeAddress!, '/readyz');
    assert.equal(reply.status, 500);
    assert.equal(
      reply.body,
      '[+]ping ok\n[-]caches-synced failed: services informer not synced\n[+]provider ok\nreadyz check failed\n',
    );
    // Liveness has its own checks: a cache still syncing must not get the container restarted.
    assert.equal((await get(s.healthProbeAddress!, '/healthz')).status, 200);
  });

  it('lists every check with ?verbose, runs one by path, and skips one with ?exclude', async () => {
    checks.addReadyCheck('caches-synced', () => {});
    checks.addReadyCheck('flaky', () => Promise.reject(new Error('down')));
    const s = await start();
    const all = await get(s.healthProbeAddress!, '/readyz?verbose&exclude=flaky');
    assert.deepEqual(all, {
      status: 200,
      type: 'text/plain; charset=utf-8',
      body: '[+]ping ok\n[+]caches-synced ok\n[+]flaky excluded: ok\nreadyz check passed\n',
    });
    assert.equal((await get(s.healthProbeAddress!, '/readyz/caches-synced')).body, 'ok');
    assert.equal((await get(s.healthProbeAddress!, '/readyz/flaky')).status, 500);
    assert.equal((await get(s.healthProbeAddress!, '/readyz/nothing')).status, 404);
  });

  it('reports leader or standby as ready, and a leader stuck past its lease as not alive', async () => {
    let leading = false;
    let stuck = false;
    addLeaderElectionChecks(checks, {
      isLeader: () => leading,
      getLeader: () => (leading ? 'me' : 'pod-b'),
      healthCheck: () => {
        if (stuck) throw new Error('failed to renew lease kube-lbc-system/kube-lbc for 40000 ms');
      },
    });
    const s = await start();
    let reply = await get(s.healthProbeAddress!, '/readyz?verbose');
    assert.match(reply.body, /^\[\+\]leader-election ok: standby \(leader: pod-b\)$/m);
    leading = true;
    reply = await get(s.healthProbeAddress!, '/readyz?verbose');
    assert.match(reply.body, /^\[\+\]leader-election ok: leader$/m);
    stuck = true;
    reply = await get(s.healthProbeAddress!, '/healthz');
    assert.equal(reply.status, 500);
    assert.match(reply.body, /^\[-\]leader-election failed: failed to renew lease/m);
  });

  it('refuses a second check of one name, and names a bad one', () => {
    checks.addHealthCheck('informers', () => {});
    assert.throws(
      () => checks.addHealthCheck('informers', () => {}),
      /healthz check "informers" is already registered/,
    );
    assert.throws(() => checks.addReadyCheck('Bad Name', () => {}), /check name "Bad Name"/);
  });

  it('answers HEAD without a body, other methods with 405, unknown paths with 404', async () => {
    const s = await start();
    assert.deepEqual(await get(s.healthProbeAddress!, '/healthz', 'HEAD'), {
      status: 200,
      type: 'text/plain; charset=utf-8',
      body: '',
    });
    assert.equal((await get(s.healthProbeAddress!, '/healthz', 'POST')).status, 405);
    assert.equal((await get(s.healthProbeAddress!, '/')).status, 404);
  });

  it('serves nothing for an address of 0', async () => {
    const s = await start('0', '127.0.0.1:0');
    assert.equal(s.metricsAddress, undefined);
    assert.notEqual(s.healthProbeAddress, undefined);
  });

  it('stops listening on close', async () => {
    const s = await start();
    const address = s.healthProbeAddress!;
    await s.close();
    servers = undefined;
    await assert.rejects(get(address, '/healthz'), { code: 'ECONNREFUSED' });
  });

  it('fails to start when the port is taken', async () => {
    const s = await start();
    await assert.rejects(
      startHttpServers({
        metricsBindAddress: s.metricsAddress!,
        healthProbeBindAddress: '0',
        registry,
        checks,
      }),
      { code: 'EADDRINUSE' },
    );
  });
});

describe('parseBindAddress', () => {
  const cases: { value: string; expected: ReturnType<typeof parseBindAddress> }[] = [
    { value: '0.0.0.0:8080', expected: { host: '0.0.0.0', port: 8080 } },
    { value: ':8081', expected: { host: undefined, port: 8081 } },
    { value: '[::1]:9000', expected: { host: '::1', port: 9000 } },
    { value: 'localhost:10258', expected: { host: 'localhost', port: 10258 } },
    { value: '0', expected: undefined },
  ];
  for (const { value, expected } of cases) {
    it(`reads "${value}"`, () => assert.deepEqual(parseBindAddress(value), expected));
  }
  for (const value of ['8080', 'host:', 'host:99999', '::1:80', '']) {
    it(`refuses "${value}", naming it`, () => {
      assert.throws(() => parseBindAddress(value), new RegExp(`bind address "${value}"`));
    });
  }
});
