/**
 * The deploy kit as kubectl renders it: every overlay builds, the Deployment runs the flags the
 * command really accepts, its probes reach paths the HTTP server really serves, and the pods run
 * non-root on a read-only root filesystem. Nothing here is compared with a hand-copied list where
 * the code can answer instead.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { promisify } from 'node:util';
import { Registry } from 'prom-client';
import { parse } from 'yaml';
import type { Config } from '../../../app/options/config.js';
import { configFromArgs } from '../../../app/options/flags.js';
import { parseAwsConfig } from '../../../providers/aws/config.js';
import { parseLocalConfig } from '../../../providers/local/config.js';
import { HealthChecks, parseBindAddress, startHttpServers } from '../../../runtime/http-server.js';
import { hasKubectl, kustomize, manifestFiles, parseManifests, type Manifest } from './render.js';

const run = promisify(execFile);
const overlays = ['aws', 'local'] as const;

function one(docs: Manifest[], kind: string, name?: string): Manifest {
  const found = docs.filter(
    (d) => d.kind === kind && (name === undefined || d.metadata.name === name),
  );
  assert.equal(found.length, 1, `expected one ${kind} ${name ?? ''}, found ${found.length}`);
  return found[0]!;
}

/** The `run` flags as the real command parses and validates them, `$(POD_IP)` as kubelet fills it. */
function controllerConfig(args: string[]): Config {
  assert.equal(args[0], 'run');
  return configFromArgs(args.slice(1).map((arg) => arg.replaceAll('$(POD_IP)', '10.0.0.7')));
}

/**
 * The bind-address flags of a container: each must name the pod's address (set from the downward
 * API), never every interface, so a load-balancer address on the same host cannot reach them.
 */
function assertBindsPodAddress(container: {
  args: string[];
  env?: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
}): void {
  const binds = container.args.filter((a) => /^--(metrics|health-probe)-bind-address=/.test(a));
  assert.ok(binds.length > 0, 'no bind-address flag');
  for (const bind of binds) assert.match(bind, /=\[\$\(POD_IP\)\]:\d+$/, bind);
  const podIP = container.env?.find((e) => e.name === 'POD_IP');
  assert.equal(podIP?.valueFrom?.fieldRef?.fieldPath, 'status.podIP');
}

function status(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    })
      .on('error', reject)
      .end();
  });
}

describe('deploy manifests', () => {
  it('annotates the ServiceAccount for IRSA on AWS', async function () {
    if (!(await hasKubectl())) this.skip();
    const aws = one(await kustomize('deploy/kustomize/overlays/aws'), 'ServiceAccount', 'kube-lbc');
    assert.match(
      String(aws.metadata.annotations?.['eks.amazonaws.com/role-arn']),
      /^arn:aws:iam::\d{12}:role\//,
    );
  });

  it('every YAML file in deploy/kustomize parses', () => {
    const files = manifestFiles('deploy/kustomize');
    assert.ok(files.length >= 8, `only ${files.length} files`);
    for (const file of files)
      assert.doesNotThrow(() => parseManifests(readFileSync(file, 'utf8')), file);
  });

  for (const overlay of overlays) {
    describe(`overlay ${overlay}`, function () {
      let docs: Manifest[];
      before(async function () {
        if (!(await hasKubectl())) this.skip();
        docs = await kustomize(`deploy/kustomize/overlays/${overlay}`);
      });

      it('renders the namespace, RBAC, Deployment, PDB and cloud-config', () => {
        for (const kind of [
          'Namespace',
          'ServiceAccount',
          'ClusterRole',
          'ClusterRoleBinding',
          'Role',
          'RoleBinding',
          'Deployment',
          'PodDisruptionBudget',
          'ConfigMap',
        ]) {
          assert.ok(
            docs.some((d) => d.kind === kind),
            `no ${kind}`,
          );
        }
        for (const d of docs.filter(
          (d) => !d.kind.startsWith('Cluster') && d.kind !== 'Namespace',
        )) {
          assert.equal(d.metadata.namespace, 'kube-lbc-system', `${d.kind} ${d.metadata.name}`);
        }
      });

      it('runs two replicas with leader election on a Lease the Role covers', () => {
        const dep = one(docs, 'Deployment', 'kube-lbc');
        assert.equal(dep.spec.replicas, 2);
        const config = controllerConfig(dep.spec.template.spec.containers[0].args);
        assert.equal(config.cloudProvider, overlay);
        assert.equal(config.leaderElection.enabled, true);
        assert.equal(config.leaderElection.resourceNamespace, dep.metadata.namespace);
        const role = one(docs, 'Role');
        assert.equal(role.metadata.namespace, config.leaderElection.resourceNamespace);
        assert.ok(role.rules.some((r: { resources: string[] }) => r.resources.includes('leases')));
      });

      it('probes /healthz and /readyz on the port the health server binds, and the server serves them', async () => {
        const dep = one(docs, 'Deployment', 'kube-lbc');
        const container = dep.spec.template.spec.containers[0];
        assertBindsPodAddress(container);
        const config = controllerConfig(container.args);
        const ports = new Map<string, number>(
          container.ports.map((p: { name: string; containerPort: number }) => [
            p.name,
            p.containerPort,
          ]),
        );
        const healthPort = parseBindAddress(config.healthProbeBindAddress)!.port;
        assert.equal(ports.get('metrics'), parseBindAddress(config.metricsBindAddress)!.port);
        const liveness = container.livenessProbe.httpGet;
        const readiness = container.readinessProbe.httpGet;
        for (const probe of [liveness, readiness]) {
          const port = typeof probe.port === 'string' ? ports.get(probe.port) : probe.port;
          assert.equal(port, healthPort, `probe ${probe.path} on port ${probe.port}`);
        }
        // The same paths, asked of the real server with the checks passing.
        const servers = await startHttpServers({
          metricsBindAddress: '0',
          healthProbeBindAddress: '127.0.0.1:0',
          registry: new Registry(),
          checks: new HealthChecks(),
        });
        try {
          const port = Number(servers.healthProbeAddress!.split(':').pop());
          assert.equal(await status(port, liveness.path), 200);
          assert.equal(await status(port, readiness.path), 200);
        } finally {
          await servers.close();
        }
      });

      it('runs non-root on a read-only root filesystem with no privilege escalation', () => {
        const pod = one(docs, 'Deployment', 'kube-lbc').spec.template.spec;
        assert.equal(pod.securityContext.runAsNonRoot, true);
        assert.notEqual(pod.securityContext.runAsUser, 0);
        const c = pod.containers[0];
        assert.equal(c.securityContext.readOnlyRootFilesystem, true);
        assert.equal(c.securityContext.allowPrivilegeEscalation, false);
        assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
        assert.ok(
          c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory,
        );
      });

      it('gives the drain its time before the kubelet kills the pod', () => {
        const dep = one(docs, 'Deployment', 'kube-lbc');
        const config = controllerConfig(dep.spec.template.spec.containers[0].args);
        assert.ok(
          dep.spec.template.spec.terminationGracePeriodSeconds * 1000 >
            config.shutdownGracePeriodMs,
        );
      });

      it('mounts a cloud-config ConfigMap that exists and that the provider accepts', () => {
        const configMaps = new Map(
          docs.filter((d) => d.kind === 'ConfigMap').map((d) => [d.metadata.name, d]),
        );
        for (const workload of docs.filter(
          (d) => d.kind === 'Deployment' || d.kind === 'DaemonSet',
        )) {
          const volume = workload.spec.template.spec.volumes.find(
            (v: { configMap?: unknown }) => v.configMap,
          );
          assert.ok(
            configMaps.has(volume.configMap.name),
            `${workload.kind} mounts missing ConfigMap ${volume.configMap.name}`,
          );
          const file = parse(configMaps.get(volume.configMap.name)!.data['cloud-config.yaml']);
          if (overlay === 'aws') assert.doesNotThrow(() => parseAwsConfig(file));
          if (overlay === 'local') assert.equal(parseLocalConfig(file).mode, 'controller');
        }
      });

      it('keeps one replica through a voluntary disruption', () => {
        const pdb = one(docs, 'PodDisruptionBudget');
        const dep = one(docs, 'Deployment', 'kube-lbc');
        assert.equal(pdb.spec.maxUnavailable, 1);
        assert.deepEqual(pdb.spec.selector.matchLabels, dep.spec.selector.matchLabels);
      });

      it('grants nothing on Secrets and no wildcards', () => {
        for (const role of docs.filter((d) => d.kind === 'ClusterRole' || d.kind === 'Role')) {
          for (const rule of role.rules) {
            for (const field of ['apiGroups', 'resources', 'verbs'])
              assert.ok(!rule[field].includes('*'), `${role.metadata.name}: * in ${field}`);
            assert.ok(!rule.resources.includes('secrets'), `${role.metadata.name} grants secrets`);
          }
        }
      });
    });
  }

  it('runs `kube-lbc proxy` on the host network of edge nodes in the local overlay, with flags it accepts', async function () {
    if (!(await hasKubectl())) this.skip();
    this.timeout(30_000);
    const ds = one(
      await kustomize('deploy/kustomize/overlays/local'),
      'DaemonSet',
      'kube-lbc-proxy',
    );
    const pod = ds.spec.template.spec;
    assert.equal(pod.hostNetwork, true);
    assert.equal(pod.dnsPolicy, 'ClusterFirstWithHostNet');
    const c = pod.containers[0];
    assert.equal(c.args[0], 'proxy');
    assertBindsPodAddress(c);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.deepEqual(c.securityContext.capabilities, { drop: ['ALL'], add: ['NET_BIND_SERVICE'] });
    const { stdout: help } = await run(process.execPath, [
      '--import',
      'tsx',
      'cmd/kube-lbc.ts',
      'proxy',
      '--help',
    ]);
    for (const arg of c.args.slice(1)) {
      const flag = String(arg).split('=')[0]!;
      assert.ok(help.includes(`${flag} `), `kube-lbc proxy has no flag ${flag}`);
    }
  });
});
