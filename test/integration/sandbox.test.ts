import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const entry = new URL('../../cmd/kube-lbc.ts', import.meta.url).pathname;
const repoRoot = new URL('../../', import.meta.url).pathname;
const run = promisify(execFile);

/** The environment without what other suites set in-process (an AWS endpoint, credentials). */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
}

function sandbox(args: string[]): {
  child: ChildProcess;
  output: () => string;
  kubeconfig: string;
} {
  const kubeconfig = join(mkdtempSync(join(tmpdir(), 'kube-lbc-sandbox-')), 'kubeconfig');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', entry, 'sandbox', '--kubeconfig-out', kubeconfig, ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: repoRoot,
      env: cleanEnv(),
    },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (out += d));
  return { child, output: () => out, kubeconfig };
}

async function exitCode(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

function printed(child: ChildProcess, output: () => string, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => pattern.test(output()) && resolve();
    child.stdout!.on('data', check);
    child.once('exit', () =>
      reject(new Error(`sandbox exited before printing ${pattern}:\n${output()}`)),
    );
    check();
  });
}

/** A random /28 in 127.244.0.0/16, a range no other suite binds in. */
function randomPool(): string {
  return `127.244.${Math.floor(Math.random() * 256)}.${16 * Math.floor(Math.random() * 16)}/28`;
}

function listen(port: number, host: string): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EADDRINUSE' ? resolve(undefined) : reject(err),
    );
    server.listen(port, host, () => resolve(server));
  });
}

describe('kube-lbc sandbox', function () {
  this.timeout(90_000);

  it('local: the sample carries requests, the printed kubectl apply works, and a Service of ours gets demo backends', async () => {
    const { child, output, kubeconfig } = sandbox(['--port', '0', '--address-pool', randomPool()]);
    try {
      await printed(child, output, /Ctrl-C stops it/);
      assert.match(
        output(),
        /spread by the rr scheduler: sandbox-node-1=3 sandbox-node-2=3 sandbox-node-3=3/,
      );
      const apply = /^\$ (kubectl --kubeconfig \S+ apply -f (\S+))/m.exec(output());
      assert.ok(apply, output());
      assert.ok(existsSync(apply[2]!), `${apply[2]} exists`);
      await run('sh', ['-c', apply[1]!]);

      // The controller's /metrics carries the data path's: the sample's 9 requests, the pool.
      const metricsUrl = /^metrics: (http:\S+)/m.exec(output())![1]!;
      const address = /EXTERNAL-IP[^\n]*\nhello\s+LoadBalancer\s+\S+\s+(\S+)/.exec(output())![1]!;
      const metrics = await (await fetch(metricsUrl)).text();
      assert.match(
        metrics,
        new RegExp(
          `^kube_lbc_local_connections_total\\{service="default/hello",listener="${address.replace(/\./g, '\\.')}:8080/TCP"\\} 9$`,
          'm',
        ),
      );
      assert.match(metrics, /^kube_lbc_local_pool_addresses\{state="allocated"\} 1$/m);

      const kubectl = (...args: string[]) => run('kubectl', ['--kubeconfig', kubeconfig, ...args]);
      await kubectl('create', 'service', 'loadbalancer', 'mine', '--tcp=9090:80');
      await kubectl(
        'wait',
        '--for=jsonpath={.status.loadBalancer.ingress}',
        'svc/mine',
        '--timeout=30s',
      );
      const { stdout: ip } = await kubectl(
        'get',
        'svc',
        'mine',
        '-o',
        'jsonpath={.status.loadBalancer.ingress[0].ip}',
      );
      const body = await (await fetch(`http://${ip}:9090/`)).text();
      assert.match(body, /^hello from sandbox-node-\d$/);

      const { stdout: events } = await kubectl('get', 'events');
      assert.match(events.split('\n')[0]!, /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/);
      assert.match(events, /Normal\s+EnsuredLoadBalancer\s+service\/hello/);
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await exitCode(child), 0, output());
  });

  it('takes a free API port and a free address block when the asked ones are taken, and says so', async () => {
    const port = await listen(0, '127.0.0.1');
    // A running `make demo` holds this one already; either way it is taken.
    const demoAddress = await listen(8080, '127.240.0.1');
    try {
      const taken = (port!.address() as { port: number }).port;
      const { child, output } = sandbox(['--port', String(taken), '--exit-after-demo']);
      assert.equal(await exitCode(child), 0, output());
      assert.match(
        output(),
        new RegExp(`port ${taken} is taken: the API server listens on \\d+ instead`),
      );
      const address = /EXTERNAL-IP[^\n]*\nhello\s+LoadBalancer\s+\S+\s+(\S+)/.exec(output())?.[1];
      assert.match(address ?? '', /^127\.240\.\d+\.1$/, output());
      assert.notEqual(address, '127.240.0.1');
      assert.match(output(), /spread by the rr scheduler/);
    } finally {
      port?.close();
      demoAddress?.close();
    }
  });

  it('fake: shows the address and skips the traffic step, as the address carries none', async () => {
    const { child, output } = sandbox([
      '--cloud-provider',
      'fake',
      '--port',
      '0',
      '--exit-after-demo',
    ]);
    assert.equal(await exitCode(child), 0, output());
    assert.match(output(), /hello\s+LoadBalancer\s+\S+\s+192\.0\.2\.1\s/);
    assert.doesNotMatch(output(), /curl/);
  });

  it('exits 2 naming a bad --log-level', async () => {
    const { child, output } = sandbox(['--port', '0', '--log-level', 'loud', '--exit-after-demo']);
    assert.equal(await exitCode(child), 2, output());
    assert.match(output(), /--log-level: .*"loud"/);
  });

  const moto = spawnSync('sh', ['-c', 'command -v moto_server']).status === 0;
  (moto ? it : it.skip)(
    `aws${moto ? '' : ' (skipped: moto_server is not installed)'}: starts moto_server, seeds the account, and the sample gets an NLB hostname`,
    async () => {
      const { child, output } = sandbox([
        '--cloud-provider',
        'aws',
        '--port',
        '0',
        '--exit-after-demo',
      ]);
      assert.equal(await exitCode(child), 0, output());
      assert.match(output(), /started moto_server at http:\/\/127\.0\.0\.1:\d+/);
      assert.match(
        output(),
        /hello\s+LoadBalancer\s+\S+\s+k8s-[0-9a-f]{28}-\d+\.us-east-1\.elb\.amazonaws\.com\s/,
      );
    },
  );
});
