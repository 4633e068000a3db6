/**
 * `kube-lbc sandbox` (and `make demo`): the main job with no cluster. It starts the API emulator,
 * three pretend nodes, and the real controller with the chosen provider, whose demo
 * (`sandbox/demos/<provider>.ts`) supplies the cloud-config, the nodes' providerIDs and whatever
 * the provider needs around it (an AWS emulator, seeded). It applies a sample LoadBalancer
 * Service, shows it getting its address and, where the address carries traffic here (the local
 * balancer), sends requests through it to demo backends; then keeps running with a kubeconfig
 * for kubectl.
 */
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { CoreV1Api, type V1Node, type V1Service } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { startController, type RunningController } from '../app/controller-manager.js';
import { configFromArgs } from '../app/options/flags.js';
import { reuseConnections } from '../runtime/kube-client.js';
import { createLogger } from '../runtime/logger.js';
import { startApiServer, type ApiServer } from './apiserver/index.js';
import { DemoBackends } from './backends.js';
import { demoFor, type DemoNode } from './demos/index.js';
import { accessFromKubeConfig } from '../runtime/cluster-access.js';

export interface SandboxOptions {
  readonly provider: string;
  /** The API server's port; when it is taken, a free one is used and the output says so. */
  readonly port: number;
  readonly kubeconfigPath: string;
  readonly sample: boolean;
  readonly exitAfterDemo: boolean;
  readonly version: string;
  /** @default 'warn' */
  readonly logLevel?: string;
  /** The local provider's pool; by default a free 127.240.N.0/25. */
  readonly addressPool?: string;
}

const SAMPLE_PORT = 8080;
const say = (line = '') => process.stdout.write(`${line}\n`);

/** Runs until SIGINT/SIGTERM (or after the demo, if asked); resolves with the exit code. */
export async function runSandbox(options: SandboxOptions): Promise<number | undefined> {
  const logLevel = options.logLevel ?? 'warn';
  // Built first, so a bad --log-level is refused (exit 2) before anything starts.
  const config = configFromArgs([
    '--cloud-provider',
    options.provider,
    '--cluster-name',
    'sandbox',
    '--leader-elect=false',
    '--node-sync-batch-window',
    '200ms',
    '--metrics-bind-address',
    '127.0.0.1:0',
    '--health-probe-bind-address',
    '127.0.0.1:0',
    '--log-level',
    logLevel,
    '--log-format',
    'text',
    '--shutdown-grace-period',
    '10s',
  ]);
  const logger = createLogger({ level: config.logLevel, format: 'text' });
  const api = await listenApi(options.port);
  writeFileSync(options.kubeconfigPath, api.kubeconfigYaml());
  const kubeConfig = reuseConnections(api.kubeConfig());
  const core = kubeConfig.makeApiClient(CoreV1Api);

  const setup = await demoFor(options.provider);
  const demo = await setup({
    clusterName: 'sandbox',
    say,
    addressPool: options.addressPool,
    samplePort: SAMPLE_PORT,
  });
  const closers: (() => Promise<void>)[] = [() => api.close(), () => demo.close()];
  const stop = async () => {
    for (const close of closers.reverse()) await close();
  };
  try {
    for (const n of demo.nodes) await core.createNode({ body: sandboxNode(n) });
    const running = await startController(config, {
      cluster: accessFromKubeConfig(kubeConfig),
      cloudConfig: demo.cloudConfig,
      logger,
      version: options.version,
    });
    closers.push(() => running.stop());
    say(
      `kube-lbc ${options.version} sandbox: API server ${api.url}, provider ${options.provider}, ${demo.nodes.length} nodes`,
    );
    say(
      `metrics: http://${running.servers.metricsAddress}/metrics   health: http://${running.servers.healthProbeAddress}/readyz`,
    );

    const backends = demo.carriesTraffic ? new DemoBackends(demo.nodes, logger) : undefined;
    if (backends) {
      closers.push(() => backends.close());
      running.informers.services.addHandlers({
        add: (s) => backends.sync(s),
        update: (_o, s) => backends.sync(s),
        delete: (s) => backends.sync(s, true),
      });
      for (const s of running.informers.services.list()) backends.sync(s);
    }
    const kubectl = `kubectl --kubeconfig ${options.kubeconfigPath}`;
    if (options.sample)
      await sample(core, running, kubectl, dirname(options.kubeconfigPath), backends);
    if (options.sample) for (const line of demo.describeCloud?.() ?? []) say(line);

    say();
    say(`kubectl works against it:  ${kubectl} get svc -A`);
    say(
      backends
        ? "Your own Services get demo backends: every node answers each TCP NodePort with 'hello from <node>'."
        : `Your own Services get an address from provider ${options.provider}; nothing answers on it here.`,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  if (options.exitAfterDemo) {
    await stop();
    return 0;
  }
  say('Ctrl-C stops it.');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await stop();
  return 0;
}

/** The requested port, else (taken) a free one, said out loud. */
async function listenApi(port: number): Promise<ApiServer> {
  try {
    return await startApiServer({ port });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    const api = await startApiServer({ port: 0 });
    say(`port ${port} is taken: the API server listens on ${new URL(api.url).port} instead`);
    return api;
  }
}

async function sample(
  core: CoreV1Api,
  running: RunningController,
  kubectl: string,
  dir: string,
  backends: DemoBackends | undefined,
): Promise<void> {
  const scheduler = 'rr';
  const manifest = sampleService(scheduler);
  const file = join(dir, 'hello.yaml');
  writeFileSync(file, stringify({ apiVersion: 'v1', kind: 'Service', ...manifest }));
  const created = await core.createNamespacedService({ namespace: 'default', body: manifest });
  const what = `type: LoadBalancer, port ${SAMPLE_PORT}${backends ? `, scheduler ${scheduler}` : ''}`;
  say(`\n$ ${kubectl} apply -f ${file}      # ${what}`);
  say(`service/${created.metadata?.name} created`);
  const nodePort = created.spec?.ports?.[0]?.nodePort;
  if (!nodePort) throw new Error('the API server allocated no NodePort for the sample Service');

  const svc = await waitFor(
    running,
    'default/hello',
    (s) => (s.status?.loadBalancer?.ingress?.length ?? 0) > 0,
  );
  const ingress = svc.status!.loadBalancer!.ingress![0]!;
  const address = ingress.ip ?? ingress.hostname ?? '';
  say('\n$ kubectl get svc hello');
  const width = Math.max(16, address.length + 1);
  say(`NAME    TYPE           CLUSTER-IP     ${'EXTERNAL-IP'.padEnd(width)} PORT(S)`);
  say(
    `hello   LoadBalancer   ${(svc.spec?.clusterIP ?? '').padEnd(14)} ${address.padEnd(width)} ${SAMPLE_PORT}:${nodePort}/TCP`,
  );
  if (!backends || !ingress.ip) return;

  backends.sync(created);
  await backends.ready();
  say(`\n$ for i in $(seq 9); do curl -s http://${address}:${SAMPLE_PORT}/; done`);
  const counts = new Map<string, number>();
  for (let i = 0; i < 9; i++) {
    const body = await httpGet(address, SAMPLE_PORT);
    say(body);
    const node = body.split(' ').pop() ?? body;
    counts.set(node, (counts.get(node) ?? 0) + 1);
  }
  say(
    `\nspread by the ${scheduler} scheduler: ${[...counts].map(([n, c]) => `${n}=${c}`).join(' ')}`,
  );
}

function waitFor(
  running: RunningController,
  key: string,
  ok: (s: V1Service) => boolean,
): Promise<V1Service> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${key} got no load balancer within 30 s`)),
      30_000,
    );
    const check = () => {
      const svc = running.informers.services.get(key);
      if (svc && ok(svc)) {
        clearTimeout(timer);
        resolve(svc);
        return true;
      }
      return false;
    };
    if (!check()) running.informers.services.addHandlers({ add: check, update: check });
  });
}

function sandboxNode(node: DemoNode): V1Node {
  return {
    metadata: { name: node.name, labels: { 'kubernetes.io/hostname': node.name } },
    spec: { providerID: node.providerID },
    status: {
      addresses: [
        { type: 'InternalIP', address: node.ip },
        { type: 'Hostname', address: node.name },
      ],
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  };
}

function sampleService(scheduler: string): V1Service {
  return {
    metadata: {
      name: 'hello',
      namespace: 'default',
      annotations: { 'kube-lbc.io/scheduler': scheduler },
    },
    spec: {
      type: 'LoadBalancer',
      selector: { app: 'hello' },
      ports: [{ name: 'http', port: SAMPLE_PORT, targetPort: 8080 as never, protocol: 'TCP' }],
    },
  };
}

function httpGet(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}
