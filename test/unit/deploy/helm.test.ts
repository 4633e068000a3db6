/**
 * The Helm chart, rendered: there is no helm binary on these machines, so helm-render.ts renders
 * the templates with the subset of Go templates and Sprig the chart uses (it throws on anything
 * else). The rendered chart is compared with the kustomize base and the local overlay, its
 * values with values.schema.json, and its guards are tried.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { configFromArgs } from '../../../app/options/flags.js';
import { Chart, TemplateFail } from './helm-render.js';
import { hasKubectl, kustomize, parseManifests, type Manifest } from './render.js';

const dir = 'deploy/helm/kube-lbc';
const chart = new Chart(dir);
const defaults = parse(readFileSync(`${dir}/values.yaml`, 'utf8')) as Record<string, unknown>;
const schema = JSON.parse(readFileSync(`${dir}/values.schema.json`, 'utf8')) as Schema;
const localValues = {
  provider: 'local',
  cloudConfig: { addresses: ['192.168.10.0/28'], mode: 'controller' },
  proxy: { enabled: true },
};

function render(
  values: Record<string, unknown> = {},
  release?: { Name: string; Namespace: string },
): Manifest[] {
  return [...chart.render(values, release).values()].flatMap((text) => parseManifests(text));
}

function one(docs: Manifest[], kind: string, name?: string): Manifest {
  const found = docs.filter(
    (d) => d.kind === kind && (name === undefined || d.metadata.name === name),
  );
  assert.equal(found.length, 1, `expected one ${kind} ${name ?? ''}, found ${found.length}`);
  return found[0]!;
}

const controller = (docs: Manifest[]) => one(docs, 'Deployment').spec.template.spec.containers[0];

interface Schema {
  type?: string | string[];
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  required?: string[];
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  items?: Schema;
  $ref?: string;
  definitions?: Record<string, Schema>;
}

/** The draft-07 keywords values.schema.json uses; returns every violation's path. */
function validate(value: unknown, s: Schema, path = 'values'): string[] {
  if (s.$ref)
    return validate(value, schema.definitions![s.$ref.replace('#/definitions/', '')]!, path);
  const errors: string[] = [];
  const typeOf = (v: unknown) =>
    Array.isArray(v) ? 'array' : v === null ? 'null' : Number.isInteger(v) ? 'integer' : typeof v;
  if (s.type) {
    const types = ([] as string[]).concat(s.type);
    const t = typeOf(value);
    if (!types.includes(t) && !(t === 'integer' && types.includes('number')))
      return [`${path}: not ${types.join('/')}`];
  }
  if (s.enum && !s.enum.includes(value)) errors.push(`${path}: not one of ${s.enum.join(', ')}`);
  if (typeof value === 'string') {
    if (s.pattern && !new RegExp(s.pattern).test(value))
      errors.push(`${path}: does not match ${s.pattern}`);
    if (s.minLength !== undefined && value.length < s.minLength) errors.push(`${path}: too short`);
    if (s.maxLength !== undefined && value.length > s.maxLength) errors.push(`${path}: too long`);
  }
  if (typeof value === 'number') {
    if (s.minimum !== undefined && value < s.minimum) errors.push(`${path}: below ${s.minimum}`);
    if (s.maximum !== undefined && value > s.maximum) errors.push(`${path}: above ${s.maximum}`);
  }
  if (Array.isArray(value) && s.items)
    value.forEach((v, i) => errors.push(...validate(v, s.items!, `${path}[${i}]`)));
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    for (const key of s.required ?? []) if (!(key in obj)) errors.push(`${path}.${key}: required`);
    for (const [key, v] of Object.entries(obj)) {
      const p = s.properties?.[key];
      if (p) errors.push(...validate(v, p, `${path}.${key}`));
      else if (s.additionalProperties === false) errors.push(`${path}.${key}: unknown`);
      else if (typeof s.additionalProperties === 'object')
        errors.push(...validate(v, s.additionalProperties, `${path}.${key}`));
    }
  }
  return errors;
}

describe('helm chart', () => {
  it('is a v2 chart whose appVersion is the package version', () => {
    const meta = parse(readFileSync(`${dir}/Chart.yaml`, 'utf8'));
    const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
    assert.equal(meta.apiVersion, 'v2');
    assert.equal(meta.name, 'kube-lbc');
    assert.equal(meta.appVersion, pkg.version);
  });

  describe('values.schema.json', () => {
    it('accepts values.yaml and the local example', () => {
      assert.deepEqual(validate(defaults, schema), []);
      assert.deepEqual(
        validate(
          { ...defaults, ...localValues, proxy: { ...(defaults.proxy as object), enabled: true } },
          schema,
        ),
        [],
      );
    });

    it('refuses a misspelt key, a bad cluster name, a port out of range and a flag without dashes', () => {
      const bad = {
        ...defaults,
        replica: 2,
        clusterName: 'Prod_1',
        metricsPort: 80800,
        extraArgs: ['cloud-qps=5'],
      };
      assert.deepEqual(validate(bad, schema).sort(), [
        'values.clusterName: does not match ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$',
        'values.extraArgs[0]: does not match ^--',
        'values.metricsPort: above 65535',
        'values.replica: unknown',
      ]);
    });

    it('has a schema entry for every value, and a value for every schema entry', () => {
      assert.deepEqual(Object.keys(defaults).sort(), Object.keys(schema.properties!).sort());
    });
  });

  describe('renders', () => {
    it('names everything after the release, the chart or the overrides', () => {
      assert.equal(one(render(), 'Deployment').metadata.name, 'kube-lbc');
      assert.equal(
        one(render({}, { Name: 'edge', Namespace: 'lb' }), 'Deployment').metadata.name,
        'edge-kube-lbc',
      );
      const named = render({ nameOverride: 'lbc' }, { Name: 'edge', Namespace: 'lb' });
      assert.equal(one(named, 'Deployment').metadata.name, 'edge-lbc');
      assert.equal(one(named, 'Deployment').metadata.labels!['app.kubernetes.io/name'], 'lbc');
      const full = render({ fullnameOverride: 'my-lb' });
      for (const kind of ['Deployment', 'ServiceAccount', 'ClusterRole', 'PodDisruptionBudget']) {
        assert.equal(one(full, kind).metadata.name, 'my-lb', kind);
      }
      assert.equal(one(full, 'ConfigMap').metadata.name, 'my-lb-cloud-config');
      assert.equal(
        one(full, 'Deployment').spec.template.spec.volumes[0].configMap.name,
        'my-lb-cloud-config',
      );
      assert.equal(one(full, 'Deployment').spec.template.spec.serviceAccountName, 'my-lb');
    });

    it('passes extraArgs as one quoted argument each, and they parse as flags of kube-lbc run', () => {
      // Unquoted, the second would be YAML's map {--x: 'a'} and the third lose its '# ...'.
      const extra = ['--cloud-qps=5', '--x: a', '--y=b # c'];
      const args: string[] = controller(render({ extraArgs: extra })).args;
      assert.deepEqual(args.slice(-3), extra);
      // The kubelet expands $(POD_IP) from the pod's env before the process starts.
      const config = configFromArgs(
        args.slice(1, -2).map((a) => a.replace('$(POD_IP)', '10.0.0.5')),
      );
      assert.equal(config.cloudQps, 5);
    });

    it('sets affinity, priorityClassName, env and extra volumes when given', () => {
      const docs = render({
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] },
          },
        },
        priorityClassName: 'system-cluster-critical',
        env: [{ name: 'AWS_REGION', value: 'eu-west-1' }],
        extraVolumes: [{ name: 'ca', configMap: { name: 'ca' } }],
        extraVolumeMounts: [{ name: 'ca', mountPath: '/etc/ssl/custom' }],
      });
      const pod = one(docs, 'Deployment').spec.template.spec;
      assert.deepEqual(Object.keys(pod.affinity), ['nodeAffinity']);
      assert.equal(pod.priorityClassName, 'system-cluster-critical');
      assert.deepEqual(pod.containers[0].env.slice(1), [
        { name: 'AWS_REGION', value: 'eu-west-1' },
      ]);
      assert.deepEqual(
        pod.volumes.map((v: { name: string }) => v.name),
        ['cloud-config', 'tmp', 'ca'],
      );
      assert.deepEqual(pod.containers[0].volumeMounts.at(-1), {
        name: 'ca',
        mountPath: '/etc/ssl/custom',
      });
      const plain = one(render(), 'Deployment').spec.template.spec;
      assert.ok(plain.affinity.podAntiAffinity, 'the default spreads the replicas');
      assert.equal(plain.priorityClassName, undefined);
      assert.deepEqual(
        plain.containers[0].env.map((e: { name: string }) => e.name),
        ['POD_IP'],
      );
    });

    it('adds a ServiceMonitor and its metrics Service only when asked', () => {
      assert.equal(render().filter((d) => d.kind === 'ServiceMonitor').length, 0);
      const docs = render({ serviceMonitor: { enabled: true, labels: { release: 'prometheus' } } });
      const monitor = one(docs, 'ServiceMonitor');
      assert.equal(monitor.metadata.labels!.release, 'prometheus');
      const service = one(docs, 'Service');
      for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels)) {
        assert.equal(
          service.metadata.labels![k],
          v,
          `the ServiceMonitor selects the Service by ${k}`,
        );
      }
      assert.equal(monitor.spec.endpoints[0].port, service.spec.ports[0].name);
      const pod = one(docs, 'Deployment').spec.template;
      for (const [k, v] of Object.entries(service.spec.selector))
        assert.equal(pod.metadata.labels[k], v);
      assert.ok(
        pod.spec.containers[0].ports.some(
          (p: { name: string }) => p.name === service.spec.ports[0].targetPort,
        ),
      );
    });

    it('refuses provider local without an address pool, and a proxy DaemonSet without mode: controller', () => {
      const fails = (values: Record<string, unknown>, message: RegExp) =>
        assert.throws(
          () => chart.render(values),
          (err: unknown) => err instanceof TemplateFail && message.test(err.message),
        );
      fails({ provider: 'local' }, /provider: local needs cloudConfig.addresses/);
      fails(
        {
          provider: 'local',
          cloudConfig: { addresses: ['10.0.0.0/28'] },
          proxy: { enabled: true },
        },
        /proxy.enabled needs cloudConfig.mode: controller/,
      );
      fails(
        { provider: 'local', cloudConfig: { addresses: ['10.0.0.0/28'], mode: 'controller' } },
        /mode: controller needs proxy.enabled/,
      );
      fails({ provider: 'aws', proxy: { enabled: true } }, /proxy.enabled is for provider: local/);
      assert.equal(one(render(localValues), 'DaemonSet').metadata.name, 'kube-lbc-proxy');
    });
  });

  describe('matches the kustomize output', function () {
    let base: Manifest[];
    let local: Manifest[];
    before(async function () {
      if (!(await hasKubectl())) this.skip();
      base = await kustomize('deploy/kustomize/base');
      local = await kustomize('deploy/kustomize/overlays/local');
    });

    it('grants the same rules', () => {
      const docs = render();
      assert.deepEqual(one(docs, 'ClusterRole').rules, one(base, 'ClusterRole').rules);
      assert.deepEqual(one(docs, 'Role').rules, one(base, 'Role').rules);
    });

    it('runs the Deployment as the base does: probes, security, volumes, ports, flags, budget', () => {
      const [h, b] = [render(), base].map((docs) => one(docs, 'Deployment').spec.template.spec);
      assert.deepEqual(h.securityContext, b.securityContext);
      assert.equal(h.terminationGracePeriodSeconds, b.terminationGracePeriodSeconds);
      const [hc, bc] = [h.containers[0], b.containers[0]];
      for (const field of [
        'livenessProbe',
        'readinessProbe',
        'securityContext',
        'volumeMounts',
        'ports',
      ]) {
        assert.deepEqual(hc[field], bc[field], field);
      }
      assert.deepEqual(
        h.volumes,
        b.volumes.map((v: Manifest) =>
          v.configMap ? { ...v, configMap: { name: 'kube-lbc-cloud-config' } } : v,
        ),
      );
      const flags = (args: string[]) => args.map((a) => a.split('=')[0]).sort();
      assert.deepEqual(
        flags(bc.args).filter((f) => !flags(hc.args).includes(f)),
        [],
        'flags the kustomize Deployment sets that the chart does not',
      );
      assert.equal(
        one(render(), 'PodDisruptionBudget').spec.maxUnavailable,
        one(base, 'PodDisruptionBudget').spec.maxUnavailable,
      );
    });

    it('runs the proxy DaemonSet as the local overlay does', () => {
      const docs = render(localValues);
      const [h, l] = [docs, local].map((d) => one(d, 'DaemonSet').spec.template.spec);
      assert.equal(h.hostNetwork, l.hostNetwork);
      assert.deepEqual(h.nodeSelector, l.nodeSelector);
      assert.deepEqual(h.containers[0].args, l.containers[0].args);
      assert.deepEqual(h.containers[0].securityContext, l.containers[0].securityContext);
      assert.deepEqual(h.containers[0].livenessProbe, l.containers[0].livenessProbe);
      const proxyRole = local.find(
        (d) => d.kind === 'ClusterRole' && d.metadata.name === 'kube-lbc-proxy',
      );
      assert.deepEqual(one(docs, 'ClusterRole', 'kube-lbc-proxy').rules, proxyRole?.rules);
    });
  });
});
