/**
 * `kube-lbc sandbox` (and `make demo`): the main job with no cluster. It starts the API emulator,
 * three pretend nodes, the real controller with the local provider, applies a sample
 * LoadBalancer Service, starts tiny HTTP servers as the nodes' NodePorts, shows the Service
 * getting its address, sends requests through the load balancer, and keeps running with a
 * kubeconfig for kubectl.
 */
import { writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { CoreV1Api, type V1Node, type V1Service } from '@kubernetes/client-node';
import { configFromArgs } from '../cmd/flags.js';
import { startController, type RunningController } from '../cmd/run.js';
import { reuseConnections } from '../runtime/kube-client.js';
import { createLogger } from '../runtime/logger.js';
import { startApiServer } from './apiserver/index.js';
import { ComputeEmulator } from './compute/index.js';

export interface SandboxOptions {
  readonly provider: string;
  readonly port: number;
  readonly kubeconfigPath: string;
  readonly sample: boolean;
  readonly exitAfterDemo: boolean;
  readonly version: string;
}

const NODES = [1, 2, 3].map((i) => ({ name: `sandbox-node-${i}`, ip: `127.0.0.${10 + i}` }));
const SAMPLE_PORT = 8080;
const say = (line = '') => process.stdout.write(`${line}\n`);

/** Runs until SIGINT/SIGTERM (or after the demo, if asked); resolves with the exit code. */
export async function runSandbox(options: SandboxOptions): Promise<number | undefined> {
  const logger = createLogger({ level: 'warn', format: 'text' });
  const api = await startApiServer({ port: options.port }).catch(() => startApiServer({ port: 0 }));
  writeFileSync(options.kubeconfigPath, api.kubeconfigYaml());
  const kubeConfig = reuseConnections(api.kubeConfig());
  const core = kubeConfig.makeApiClient(CoreV1Api);
  // With --cloud-provider gcp the cloud is the Compute emulator, the nodes its instances.
  const compute = options.provider === 'gcp' ? await ComputeEmulator.start() : undefined;
  const zone = compute?.zones[0] ?? '';
  for (const n of NODES) {
    compute?.seedInstance({ name: n.name, zone, tags: ['sandbox-node'], networkIP: n.ip });
    const providerID = compute
      ? `gce://${compute.project}/${zone}/${n.name}`
      : `sandbox://${n.name}`;
    await core.createNode({ body: sandboxNode(n.name, n.ip, providerID) });
  }

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
    'warn',
    '--log-format',
    'text',
    '--shutdown-grace-period',
    '10s',
  ]);
  const cloudConfig =
    options.provider === 'local'
      ? { addresses: ['127.240.0.0/16'] }
      : compute
        ? { project: compute.project, region: compute.region, apiEndpoint: compute.endpoint }
        : {};
  const running = await startController(config, {
    kubeConfig,
    cloudConfig,
    logger,
    version: options.version,
  });
  say(
    `kube-lbc ${options.version} sandbox: API server ${api.url}, provider ${options.provider}, ${NODES.length} nodes`,
  );
  say(
    `metrics: http://${running.servers.metricsAddress}/metrics   health: http://${running.servers.healthProbeAddress}/readyz`,
  );

  const backends: Server[] = [];
  if (options.sample) await demo(core, running, backends, compute);

  say();
  say(`kubectl works against it:  kubectl --kubeconfig ${options.kubeconfigPath} get svc -A`);
  const stop = async () => {
    await running.stop();
    await Promise.all(backends.map((b) => new Promise((r) => b.close(r))));
    await api.close();
    await compute?.close();
  };
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

async function demo(
  core: CoreV1Api,
  running: RunningController,
  backends: Server[],
  compute?: ComputeEmulator,
): Promise<void> {
  const scheduler = 'rr';
  const created = await core.createNamespacedService({
    namespace: 'default',
    body: sampleService(scheduler),
  });
  say(
    `\n$ kubectl apply -f hello.yaml      # type: LoadBalancer, port ${SAMPLE_PORT}, scheduler ${scheduler}`,
  );
  say(`service/${created.metadata?.name} created`);
  const nodePort = created.spec?.ports?.[0]?.nodePort;
  if (!nodePort) throw new Error('the API server allocated no NodePort for the sample Service');
  for (const n of NODES) backends.push(await startBackend(n.name, n.ip, nodePort));

  const svc = await waitFor(
    running,
    'default/hello',
    (s) => (s.status?.loadBalancer?.ingress?.length ?? 0) > 0,
  );
  const ingress = svc.status!.loadBalancer!.ingress![0]!;
  const address = ingress.ip ?? ingress.hostname ?? '';
  say('\n$ kubectl get svc hello');
  say('NAME    TYPE           CLUSTER-IP     EXTERNAL-IP      PORT(S)');
  say(
    `hello   LoadBalancer   ${(svc.spec?.clusterIP ?? '').padEnd(14)} ${address.padEnd(16)} ${SAMPLE_PORT}:${nodePort}/TCP`,
  );
  if (compute) {
    // An address in the emulator's pool: nothing carries packets to it here.
    say(`\nin the Compute emulator (${compute.endpoint}):`);
    for (const r of compute.inventory())
      say(`  ${String(r.collection).padEnd(16)} ${String(r.name)}`);
    return;
  }
  if (!ingress.ip) return;

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

function sandboxNode(name: string, ip: string, providerID: string): V1Node {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    spec: { providerID },
    status: {
      addresses: [
        { type: 'InternalIP', address: ip },
        { type: 'Hostname', address: name },
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

/** Stands in for kube-proxy and a pod on one node: answers at the node's address and NodePort. */
function startBackend(name: string, ip: string, port: number): Promise<Server> {
  const server = createServer((_req, res) => res.end(`hello from ${name}`));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, ip, () => resolve(server));
  });
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
