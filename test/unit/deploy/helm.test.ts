/**
 * The Helm chart carries the same content as the kustomize base. There is no helm binary on these
 * machines, so templates are read structurally: lines that are only template actions are dropped
 * and inline actions become a placeholder, which leaves YAML whose fixed parts (RBAC rules, probes,
 * security settings) can be compared with what kustomize renders.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { hasKubectl, kustomize, parseManifests, type Manifest } from './render.js';

const chart = 'deploy/helm/kube-lbc';

function template(name: string): Manifest[] {
  const text = readFileSync(`${chart}/templates/${name}`, 'utf8')
    .split('\n')
    .filter((line) => !/^\s*\{\{[^}]*\}\}\s*$/.test(line))
    .map((line) => line.replace(/\{\{[^}]*\}\}/g, 'TEMPLATED'))
    .join('\n');
  return parseManifests(text);
}

interface Rule {
  resourceNames?: string[];
}

function byKind(docs: Manifest[], kind: string): Manifest {
  const doc = docs.find((d) => d.kind === kind);
  assert.ok(doc, `no ${kind}`);
  return doc;
}

describe('helm chart', () => {
  it('is a v2 chart whose appVersion is the package version', () => {
    const meta = parse(readFileSync(`${chart}/Chart.yaml`, 'utf8'));
    const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
    assert.equal(meta.apiVersion, 'v2');
    assert.equal(meta.name, 'kube-lbc');
    assert.equal(meta.appVersion, pkg.version);
  });

  it('offers values for provider, cloud-config, class, replicas, image and resources', () => {
    const values = parse(readFileSync(`${chart}/values.yaml`, 'utf8'));
    for (const key of [
      'provider',
      'cloudConfig',
      'loadBalancerClass',
      'handleUnclassed',
      'replicas',
      'image',
      'resources',
    ]) {
      assert.ok(key in values, `values.yaml has no ${key}`);
    }
    assert.equal(values.replicas, 2);
  });

  describe('matches the kustomize base', function () {
    let base: Manifest[];
    before(async function () {
      if (!(await hasKubectl())) this.skip();
      base = await kustomize('deploy/kustomize/base');
    });

    it('grants the same rules', () => {
      const rbac = template('rbac.yaml');
      assert.deepEqual(byKind(rbac, 'ClusterRole').rules, byKind(base, 'ClusterRole').rules);
      // The Lease is named after the release in the chart, kube-lbc in the base.
      const leaseNamed = (rules: Rule[], name: string) =>
        rules.map((r) =>
          r.resourceNames ? { ...r, resourceNames: r.resourceNames.map(() => name) } : r,
        );
      assert.deepEqual(
        leaseNamed(byKind(rbac, 'Role').rules, 'LEASE'),
        leaseNamed(byKind(base, 'Role').rules, 'LEASE'),
      );
      assert.deepEqual(
        byKind(rbac, 'Role').rules.flatMap((r: Rule) => r.resourceNames ?? []),
        ['TEMPLATED'],
      );
    });

    it('probes the same paths and runs with the same security settings', () => {
      const [helmPod, basePod] = [template('deployment.yaml'), base].map(
        (docs) => byKind(docs, 'Deployment').spec.template.spec,
      );
      assert.deepEqual(helmPod.securityContext, basePod.securityContext);
      assert.equal(helmPod.terminationGracePeriodSeconds, basePod.terminationGracePeriodSeconds);
      const [h, b] = [helmPod.containers[0], basePod.containers[0]];
      assert.deepEqual(h.livenessProbe, b.livenessProbe);
      assert.deepEqual(h.readinessProbe, b.readinessProbe);
      assert.deepEqual(h.securityContext, b.securityContext);
      assert.deepEqual(h.volumeMounts, b.volumeMounts);
      assert.deepEqual(
        h.ports.map((p: { name: string }) => p.name),
        b.ports.map((p: { name: string }) => p.name),
      );
      const flags = (args: string[]) => args.map((a) => a.split('=')[0]).sort();
      assert.deepEqual(
        flags(b.args).filter((f) => !flags(h.args).includes(f)),
        [],
        'flags the kustomize Deployment sets that the chart does not',
      );
    });

    it('keeps the same disruption budget', () => {
      const pdb = byKind(template('poddisruptionbudget.yaml'), 'PodDisruptionBudget');
      assert.equal(pdb.spec.maxUnavailable, 'TEMPLATED');
      const values = parse(readFileSync(`${chart}/values.yaml`, 'utf8'));
      assert.equal(
        values.podDisruptionBudget.maxUnavailable,
        byKind(base, 'PodDisruptionBudget').spec.maxUnavailable,
      );
    });

    it('runs the proxy DaemonSet as the local overlay does', async () => {
      const [helm, local] = [
        template('proxy.yaml'),
        await kustomize('deploy/kustomize/overlays/local'),
      ];
      const [h, l] = [helm, local].map((docs) => byKind(docs, 'DaemonSet').spec.template.spec);
      assert.equal(h.hostNetwork, l.hostNetwork);
      assert.deepEqual(h.containers[0].args, l.containers[0].args);
      assert.deepEqual(h.containers[0].securityContext, l.containers[0].securityContext);
      const proxyRole = local.find(
        (d) => d.kind === 'ClusterRole' && d.metadata.name === 'kube-lbc-proxy',
      );
      assert.deepEqual(byKind(helm, 'ClusterRole').rules, proxyRole?.rules);
    });
  });
});
