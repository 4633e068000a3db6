import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contract } from './support/contract.js';
import type { Target } from './support/targets.js';

function manifest(
  name: string,
  ports: { name: string; port: number; targetPort: number }[],
): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, labels: { app: name } },
    spec: { type: 'LoadBalancer', selector: { app: name }, ports },
  });
}

async function apply(t: Target, body: string, ...flags: string[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'kube-lbc-apply-'));
  try {
    const file = join(dir, 'svc.json');
    writeFileSync(file, body);
    return await t.kubectl('apply', ...flags, '-n', t.ns, '-f', file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const getJson = async (t: Target, ...args: string[]) =>
  JSON.parse(await t.kubectl('get', '-n', t.ns, ...args, '-o', 'json'));

contract('kubectl', [
  {
    desc: 'apply creates, then patches with the last-applied configuration (adding and removing ports)',
    async run(t) {
      const name = t.name('applied');
      assert.match(
        await apply(t, manifest(name, [{ name: 'http', port: 80, targetPort: 8080 }])),
        /created/,
      );
      const first = await getJson(t, 'service', name);
      assert.ok(first.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);
      const nodePort = first.spec.ports[0].nodePort;
      const ports = [
        { name: 'http', port: 80, targetPort: 9090 },
        { name: 'https', port: 443, targetPort: 8443 },
      ];
      assert.match(await apply(t, manifest(name, ports)), /configured/);
      const second = await getJson(t, 'service', name);
      assert.deepEqual(
        second.spec.ports.map(
          (p: { port: number; targetPort: number }) => `${p.port}->${p.targetPort}`,
        ),
        ['80->9090', '443->8443'],
      );
      assert.equal(
        second.spec.ports[0].nodePort,
        nodePort,
        'the allocated NodePort survives the apply',
      );
      await apply(t, manifest(name, [ports[1]!]));
      const third = await getJson(t, 'service', name);
      assert.deepEqual(
        third.spec.ports.map((p: { port: number }) => p.port),
        [443],
      );
    },
  },
  {
    desc: 'patch --subresource=status shows in the EXTERNAL-IP column of get',
    async run(t) {
      const name = t.name('shown');
      await apply(t, manifest(name, [{ name: 'http', port: 80, targetPort: 8080 }]));
      await t.kubectl(
        'patch',
        '-n',
        t.ns,
        'service',
        name,
        '--subresource=status',
        '--type=merge',
        '-p',
        '{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.44"}]}}}',
      );
      const table = await t.kubectl('get', '-n', t.ns, 'service', name);
      assert.match(table, /EXTERNAL-IP/);
      assert.match(
        table,
        new RegExp(`${name}\\s+LoadBalancer\\s+\\S+\\s+192\\.0\\.2\\.44\\s+80:\\d+/TCP`),
      );
    },
  },
  {
    desc: 'label, annotate and a strategic patch; delete waits until the object is gone',
    async run(t) {
      const name = t.name('handled');
      await apply(t, manifest(name, [{ name: 'http', port: 80, targetPort: 8080 }]));
      await t.kubectl('label', '-n', t.ns, 'service', name, 'team=edge');
      await t.kubectl('annotate', '-n', t.ns, 'service', name, 'example.com/note=hi');
      await t.kubectl(
        'patch',
        '-n',
        t.ns,
        'service',
        name,
        '-p',
        '{"spec":{"ports":[{"port":80,"targetPort":7070}]}}',
      );
      const svc = await getJson(t, 'service', name);
      assert.equal(svc.metadata.labels.team, 'edge');
      assert.equal(svc.metadata.annotations['example.com/note'], 'hi');
      assert.equal(svc.spec.ports[0].targetPort, 7070);
      await t.kubectl('delete', '-n', t.ns, 'service', name, '--timeout=10s');
      assert.equal(
        (await t.kubectl('get', '-n', t.ns, 'services', '--ignore-not-found', name)).trim(),
        '',
      );
    },
  },
  {
    desc: 'create namespace and create service clusterip/loadbalancer work (kubectl sends them as protobuf)',
    async run(t) {
      const ns = t.name('kns');
      assert.match(await t.kubectl('create', 'namespace', ns), /created/);
      const created = await t.core.readNamespace({ name: ns });
      assert.equal(created.status!.phase, 'Active');
      await t.core.deleteNamespace({ name: ns });

      const kc = t.name('kc');
      await t.kubectl('create', 'service', 'clusterip', kc, '--tcp=80:8080', '-n', t.ns);
      const svc = await getJson(t, 'service', kc);
      assert.equal(svc.spec.type, 'ClusterIP');
      assert.match(svc.spec.clusterIP, /^\d+\.\d+\.\d+\.\d+$/);
      assert.deepEqual(svc.spec.selector, { app: kc });
      assert.deepEqual(svc.spec.ports, [
        { name: '80-8080', port: 80, protocol: 'TCP', targetPort: 8080 },
      ]);
      assert.equal(svc.metadata.labels.app, kc);

      const klb = t.name('klb');
      await t.kubectl('create', 'service', 'loadbalancer', klb, '--tcp=443:8443', '-n', t.ns);
      const lb = await getJson(t, 'service', klb);
      assert.equal(lb.spec.type, 'LoadBalancer');
      assert.ok(lb.spec.ports[0].nodePort >= 30000, 'a NodePort is allocated');
      assert.equal(lb.spec.externalTrafficPolicy, 'Cluster');
    },
  },
  {
    desc: 'apply --server-side creates, then sets what it names and takes back only what it applied before',
    async run(t) {
      const name = t.name('ssa');
      const service = (labels: object, ports: object[]) =>
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name, labels },
          spec: { type: 'LoadBalancer', selector: { app: name }, ports },
        });
      // 1.20 refuses an apply whose ports omit protocol, a key of that list (later it defaults).
      const http = { name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 };
      const https = { name: 'https', port: 443, protocol: 'TCP', targetPort: 8443 };
      assert.match(
        await apply(t, service({ a: '1', b: '2' }, [http, https]), '--server-side'),
        /serverside-applied/,
      );
      const first = await getJson(t, 'service', name);
      await t.kubectl('label', '-n', t.ns, 'service', name, 'other=kept');
      await apply(t, service({ a: '1' }, [{ ...http, targetPort: 9090 }]), '--server-side');
      const second = await getJson(t, 'service', name);
      assert.deepEqual(second.metadata.labels, { a: '1', other: 'kept' });
      assert.deepEqual(
        second.spec.ports.map(
          (p: { port: number; targetPort: number }) => `${p.port}->${p.targetPort}`,
        ),
        ['80->9090'],
      );
      assert.equal(second.spec.ports[0].nodePort, first.spec.ports[0].nodePort);
      assert.equal(second.spec.clusterIP, first.spec.clusterIP);
    },
  },
  {
    desc: 'discovery names the groups and the services/status subresource',
    async run(t) {
      const groups = JSON.parse(await t.kubectl('get', '--raw', '/apis'));
      const names = groups.groups.map((g: { name: string }) => g.name);
      for (const g of ['coordination.k8s.io', 'events.k8s.io', 'discovery.k8s.io'])
        assert.ok(names.includes(g), g);
      const core = JSON.parse(await t.kubectl('get', '--raw', '/api/v1'));
      const services = core.resources.find((r: { name: string }) => r.name === 'services');
      assert.equal(services.kind, 'Service');
      assert.ok(services.verbs.includes('watch'));
      assert.ok(core.resources.some((r: { name: string }) => r.name === 'services/status'));
    },
  },
]);
