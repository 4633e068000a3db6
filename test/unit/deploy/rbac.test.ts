/**
 * The RBAC rules are derived from what the code does, not copied from a list: a real controller
 * and a real leader elector run against the API emulator through a Service's whole life, and the
 * emulator's audit log (minus the requests this test made itself) must be exactly covered by the
 * ClusterRole and Role that kustomize renders: every request allowed, every grant used.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { CloudError } from '../../../contract/errors.js';
import { runProxyAgent } from '../../../providers/local/agent.js';
import { LeaderElector } from '../../../runtime/leader-election.js';
import { noopLogger } from '../../../contract/logger.js';
import { startApiServer, type AuditRecord } from '../../../sandbox/apiserver/index.js';
import { newNode, newService } from '../../fixtures/builders.js';
import { startTestCluster, type TestCluster } from '../../support/cluster.js';
import { hasKubectl, kustomize, type Manifest } from './render.js';
import { accessFromKubeConfig } from '../../../runtime/cluster-access.js';
import { kubeApiFor } from '../../../runtime/kube-api.js';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** Where a grant holds: a Role's namespace, and the object names a rule lists, if any. */
interface Scope {
  readonly namespace: string | undefined;
  readonly names: readonly string[] | undefined;
}

/** `services/status`, as RBAC names a subresource. */
const resourceOf = (r: AuditRecord) =>
  r.subresource ? `${r.resource}/${r.subresource}` : r.resource;
const grantKey = (group: string, resource: string, verb: string) =>
  `${verb} ${group || 'core'}/${resource}`;

function grants(role: Manifest): Map<string, Scope> {
  const out = new Map<string, Scope>();
  for (const rule of role.rules as Rule[]) {
    for (const group of rule.apiGroups) {
      for (const resource of rule.resources) {
        for (const verb of rule.verbs) {
          out.set(grantKey(group, resource, verb), {
            namespace: role.kind === 'Role' ? role.metadata.namespace : undefined,
            names: rule.resourceNames,
          });
        }
      }
    }
  }
  return out;
}

/** Removes one record equal to each of `mine` from `audit`: what is left is the code's. */
function without(
  audit: readonly AuditRecord[],
  mine: readonly Partial<AuditRecord>[],
): AuditRecord[] {
  const left = [...audit];
  for (const m of mine) {
    const i = left.findIndex((r) =>
      Object.entries(m).every(([k, v]) => r[k as keyof AuditRecord] === v),
    );
    assert.ok(i >= 0, `the test's own request ${JSON.stringify(m)} is missing from the audit log`);
    left.splice(i, 1);
  }
  return left;
}

describe('RBAC covers exactly what the code calls', function () {
  this.timeout(30_000);
  let cluster: TestCluster | undefined;
  let docs: Manifest[];

  before(async function () {
    if (!(await hasKubectl())) this.skip();
    docs = await kustomize('deploy/kustomize/base');
  });
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('allows every request of a controller and leader-election run, and grants nothing unused', async () => {
    const namespace = 'kube-lbc-system';
    const mine: Partial<AuditRecord>[] = [];
    cluster = await startTestCluster();
    const { core, cloud, api } = cluster;
    await core.createNode({ body: fresh(newNode('node-1')) });
    mine.push({ verb: 'create', resource: 'nodes' });

    // Leader election: acquire, renew, release, as a replica's life does.
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    mine.push({ verb: 'create', resource: 'namespaces' });
    let leading!: () => void;
    const led = new Promise<void>((resolve) => (leading = resolve));
    const elector = new LeaderElector({
      api: kubeApiFor(cluster.kubeConfig),
      namespace,
      name: 'kube-lbc',
      leaseDurationMs: 1500,
      renewDeadlineMs: 1000,
      retryPeriodMs: 100,
      onStartedLeading: () => leading(),
    });
    void elector.run();
    await led;

    // A Service's whole life: create (finalizer, status, events), a failing sync twice (a
    // repeated Event is a patch), a port change, a node joining, deletion; then a GC pass.
    cloud.failNext(
      'CreateLoadBalancer',
      new CloudError('boom', {
        operation: 'CreateLoadBalancer',
        cloudCode: 'Boom',
        retryable: true,
      }),
      2,
    );
    await core.createNamespacedService({ namespace: 'default', body: fresh(newService('web')) });
    mine.push({ verb: 'create', resource: 'services', namespace: 'default' });
    await cluster.until(
      () => cluster!.cached('default', 'web')?.status?.loadBalancer?.ingress?.length,
      'ingress',
    );

    // A Service the API server gave no NodePorts (allocateLoadBalancerNodePorts: false): kube-lbc
    // allocates them with a patch of the Service itself.
    const bare = fresh(newService('bare'));
    bare.spec!.allocateLoadBalancerNodePorts = false;
    for (const port of bare.spec!.ports!) delete port.nodePort;
    await core.createNamespacedService({ namespace: 'default', body: bare });
    mine.push({ verb: 'create', resource: 'services', namespace: 'default' });
    await cluster.until(
      () => cluster!.cached('default', 'bare')?.status?.loadBalancer?.ingress?.length,
      'ingress for the Service without NodePorts',
    );
    assert.ok(cluster.cached('default', 'bare')!.spec!.ports!.every((p) => p.nodePort));
    await core.deleteNamespacedService({ name: 'bare', namespace: 'default' });
    mine.push({ verb: 'delete', resource: 'services', namespace: 'default', name: 'bare' });
    await cluster.until(() => !cluster!.cached('default', 'bare'), 'that Service gone');

    const current = await core.readNamespacedService({ name: 'web', namespace: 'default' });
    mine.push({ verb: 'get', resource: 'services', namespace: 'default', name: 'web' });
    current.spec!.ports = [{ name: 'http', port: 81, targetPort: 8080 as never, protocol: 'TCP' }];
    await core.replaceNamespacedService({ name: 'web', namespace: 'default', body: current });
    mine.push({ verb: 'update', resource: 'services', namespace: 'default', name: 'web' });
    await cluster.until(
      () => cloud.calls.some((c) => c.method === 'UpdateLoadBalancer'),
      'the port change reaching the cloud',
    );

    await core.createNode({ body: fresh(newNode('node-2')) });
    mine.push({ verb: 'create', resource: 'nodes' });
    await cluster.until(
      () => cloud.calls.some((c) => c.method === 'UpdateHosts'),
      'the node joining',
    );

    await core.deleteNamespacedService({ name: 'web', namespace: 'default' });
    mine.push({ verb: 'delete', resource: 'services', namespace: 'default', name: 'web' });
    await cluster.until(() => !cluster!.cached('default', 'web'), 'the Service gone');

    // An orphan (its Service deleted while kube-lbc was down): the collector reads the Service
    // from the API server before it deletes, since the cache alone may be behind.
    await cloud.createLoadBalancer(
      {
        name: 'orphan',
        tags: { cluster: 'test', serviceUID: 'gone', namespace: 'default', serviceName: 'web' },
        nodes: [],
        ports: [],
        sourceRanges: [],
      },
      'default/web',
    );
    assert.equal(await cluster.controller.collectGarbage(), 1);

    await elector.release();
    await cluster.recorder.flush();

    assertExactlyCovered(without(api.audit, mine), [one(docs, 'ClusterRole'), one(docs, 'Role')]);
  });

  it('limits what is done to an existing Lease to the one the Deployment elects with', () => {
    const role = one(docs, 'Role');
    const deployment = one(docs, 'Deployment');
    const args: string[] = deployment.spec.template.spec.containers[0].args;
    const lease = args.find((a) => a.startsWith('--leader-elect-resource-name='))?.split('=')[1];
    for (const rule of role.rules as Rule[]) {
      if (!rule.resources.includes('leases')) continue;
      // create is authorized before the object has a name: RBAC cannot limit it by name.
      if (rule.verbs.every((v) => v === 'create')) continue;
      assert.deepEqual(
        rule.resourceNames,
        [lease],
        `a lease rule for ${rule.verbs.join(', ')} names no Lease`,
      );
    }
  });

  it('allows the local proxy agent what it reads, and nothing more', async () => {
    const local = await kustomize('deploy/kustomize/overlays/local');
    const role = local.find(
      (d) => d.kind === 'ClusterRole' && d.metadata.name === 'kube-lbc-proxy',
    );
    assert.ok(role, 'no kube-lbc-proxy ClusterRole');
    const api = await startApiServer();
    const stop = new AbortController();
    try {
      const audit = api.audit as AuditRecord[];
      const seen = new EventEmitter();
      const push = audit.push.bind(audit);
      // Told of each request as it arrives, so the test waits on the watches, not on a clock.
      audit.push = (...records) => {
        const n = push(...records);
        seen.emit('request');
        return n;
      };
      const watching = new Promise<void>((resolve) => {
        seen.on('request', () => {
          const watches = audit.filter((r) => r.verb === 'watch').map((r) => r.resource);
          if (watches.includes('services') && watches.includes('nodes')) resolve();
        });
      });
      const agent = runProxyAgent({
        cluster: accessFromKubeConfig(api.kubeConfig()),
        logger: noopLogger,
        signal: stop.signal,
        config: { addresses: ['127.241.0.0/28'], mode: 'controller' },
      });
      await watching;
      stop.abort();
      await agent;
      assertExactlyCovered(audit, [role]);
    } finally {
      stop.abort();
      await api.close();
    }
  });
});

/** Every request is allowed by `roles`, and every grant of `roles` was used by some request. */
function assertExactlyCovered(requests: readonly AuditRecord[], roles: Manifest[]): void {
  const allowed = new Map(roles.flatMap((role) => [...grants(role)]));
  const used = new Set<string>();
  for (const r of requests) {
    const key = grantKey(r.group, resourceOf(r), r.verb);
    assert.ok(allowed.has(key), `the code made "${key}", which RBAC does not allow`);
    const scope = allowed.get(key)!;
    if (scope.namespace !== undefined) {
      assert.equal(r.namespace, scope.namespace, `${key} outside the Role's namespace`);
    }
    if (scope.names !== undefined) {
      assert.ok(
        r.name !== undefined && scope.names.includes(r.name),
        `${key} of ${r.name}, not one of ${scope.names.join(', ')}`,
      );
    }
    used.add(key);
  }
  const unused = [...allowed.keys()].filter((k) => !used.has(k));
  assert.deepEqual(unused, [], 'granted but never used by the code');
}

/** A builder's object as a client would create it: the server assigns uid and resourceVersion. */
function fresh<T extends { metadata?: { uid?: string; resourceVersion?: string } }>(obj: T): T {
  delete obj.metadata?.uid;
  delete obj.metadata?.resourceVersion;
  return obj;
}

function one(docs: Manifest[], kind: string): Manifest {
  const found = docs.filter((d) => d.kind === kind);
  assert.equal(found.length, 1, `expected one ${kind}`);
  return found[0]!;
}
