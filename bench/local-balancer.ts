/**
 * Throughput and latency of the local provider's data path, side by side with the physical limit
 * (the same backends reached directly) and with HAProxy configured the same way (mode tcp,
 * roundrobin, one thread). `wrk` drives HTTP keep-alive load against small Node backends that run
 * in their own process, so the balancer's event loop does nothing but forward.
 *
 *   npx tsx bench/local-balancer.ts [--seconds 3] [--connections 50] [--rounds 3] [--pipe]
 *                                   [--backend-server node|nginx]
 *
 * Two rows for the local balancer, in one process: `local native` (the data path's default where
 * `make native` built the native relay; the row is left out, saying so, where it is not) and
 * `local js` (the JavaScript relay, its fallback). `--pipe` adds the JavaScript listener
 * forwarding by `pipe` (the fallback where Node does not allow the shared read buffer).
 *
 * A shared machine is noisy, so each target runs `rounds` times, interleaved (direct, local,
 * haproxy, direct, ...), and the table shows medians. It also shows each proxy's CPU time per
 * request, which contention from other processes distorts far less than requests per second.
 *
 * `--backend-server nginx` serves the same two bodies from nginx (one worker) instead of Node, so
 * the tail is not set by a backend's event loop and garbage collector.
 *
 * Needs `haproxy` and `wrk` (and `nginx` for that option; Debian packages). Binds 127.0.0.1 only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Balancer } from '../providers/local/balancer.js';
import { DataPath } from '../providers/local/data-path.js';
import { nativeRelayProblem } from '../providers/local/native-relay.js';
import { TcpListener, type TcpForwarding } from '../providers/local/tcp-proxy.js';
import { noopLogger } from '../contract/logger.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    backends: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    pipe: { type: 'boolean', default: false },
    'backend-server': { type: 'string', default: 'node' },
  },
});
const rounds = Number(args.rounds);
const seconds = Number(args.seconds);
const connections = Number(args.connections);
const backendCount = Number(args.backends);
const host = '127.0.0.1';
const backendServer = args['backend-server'];
if (backendServer !== 'node' && backendServer !== 'nginx') {
  throw new Error(`--backend-server: "${backendServer}" is neither node nor nginx`);
}

/** The backends: keep-alive HTTP servers, `/` a tiny body, `/big` 256 KiB. */
const backendScript = `
const http = require('node:http');
const big = Buffer.alloc(256 * 1024, 120);
const ports = [];
let pending = Number(process.argv[1]);
for (let i = 0; i < Number(process.argv[1]); i++) {
  const server = http.createServer((req, res) => {
    const body = req.url === '/big' ? big : 'ok\\n';
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
    res.end(body);
  });
  server.keepAliveTimeout = 60000;
  server.listen(0, '${host}', () => {
    ports.push(server.address().port);
    if (--pending === 0) console.log(JSON.stringify(ports));
  });
}
`;

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, host);
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

async function startBackends(): Promise<{ child: ChildProcess; ports: number[] }> {
  return backendServer === 'nginx' ? startNginxBackends() : startNodeBackends();
}

/** The same bodies from nginx: one worker, keep-alive, `/big` a static file sent by sendfile. */
async function startNginxBackends(): Promise<{ child: ChildProcess; ports: number[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'kube-lbc-bench-nginx-'));
  writeFileSync(join(dir, 'big'), Buffer.alloc(256 * 1024, 120));
  const ports: number[] = [];
  for (let i = 0; i < backendCount; i++) ports.push(await freePort());
  const servers = ports
    .map(
      (port) => `  server {
    listen ${host}:${port} backlog=1024;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    location = / { default_type text/plain; return 200 "ok\\n"; }
    location = /big { default_type text/plain; alias ${dir}/big; }
  }`,
    )
    .join('\n');
  const conf = `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path ${dir};
  proxy_temp_path ${dir};
  fastcgi_temp_path ${dir};
  uwsgi_temp_path ${dir};
  scgi_temp_path ${dir};
${servers}
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const child = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    for (const port of ports) await waitForPort(port);
  } catch (err) {
    child.kill();
    throw err;
  }
  return { child, ports };
}

async function startNodeBackends(): Promise<{ child: ChildProcess; ports: number[] }> {
  const child = spawn(process.execPath, ['-e', backendScript, String(backendCount)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { child, ports: JSON.parse(line.toString()) as number[] };
}

async function startHaproxy(frontendPort: number, backendPorts: number[]): Promise<ChildProcess> {
  const here = dirname(fileURLToPath(import.meta.url));
  const template = readFileSync(join(here, 'haproxy.cfg.template'), 'utf8');
  const servers = backendPorts.map((p, i) => `    server b${i} ${host}:${p}`).join('\n');
  const cfg = template
    .replace('{{FRONTEND}}', `${host}:${frontendPort}`)
    .replace('{{SERVERS}}', servers);
  const file = join(mkdtempSync(join(tmpdir(), 'kube-lbc-bench-')), 'haproxy.cfg');
  writeFileSync(file, cfg);
  const child = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    await waitForPort(frontendPort);
  } catch (err) {
    child.kill();
    throw err;
  }
  return child;
}

/** Bounded poll: HAProxy is an external process with no readiness signal we can await. */
async function waitForPort(port: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host, port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${host}:${port}`);
}

interface WrkResult {
  /** CPU microseconds the proxy spent per request (NaN for direct). */
  cpuUsPerRequest: number;
  requestsPerSecond: number;
  bytesPerSecond: number;
  p50ms: number;
  p99ms: number;
  errors: number;
}

/** CPU time used so far, in microseconds, by the proxy under test. */
type CpuClock = () => number;

const ownCpu: CpuClock = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

function childCpu(pid: number): CpuClock {
  return () => {
    // utime and stime, fields 14 and 15 of /proc/PID/stat, in clock ticks (100 per second).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  };
}

async function wrk(port: number, path: string, cpu: CpuClock | undefined): Promise<WrkResult> {
  const cpuBefore = cpu?.() ?? NaN;
  const child = spawn(
    'wrk',
    ['-t2', `-c${connections}`, `-d${seconds}s`, '--latency', `http://${host}:${port}${path}`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  await once(child, 'exit');
  const cpuUs = (cpu?.() ?? NaN) - cpuBefore;
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
  const latency = (pct: string) => toMs(new RegExp(`^\\s+${pct}%\\s+(\\S+)`, 'm').exec(out)?.[1]);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const requests = num(/(\d+) requests in/);
  return {
    cpuUsPerRequest: cpuUs / requests,
    requestsPerSecond: num(/Requests\/sec:\s+([\d.]+)/),
    bytesPerSecond: toBytes(/Transfer\/sec:\s+(\S+)/.exec(out)?.[1]),
    p50ms: latency('50'),
    p99ms: latency('99'),
    errors: errors ? errors.slice(1).reduce((n, e) => n + Number(e), 0) : 0,
  };
}

function toMs(text: string | undefined): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text ?? '');
  if (!m) return NaN;
  return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
}

function toBytes(text: string | undefined): number {
  const m = /^([\d.]+)(B|KB|MB|GB)$/.exec(text ?? '');
  if (!m) return NaN;
  return Number(m[1]) * { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[m[2] as 'B'];
}

async function main(): Promise<void> {
  const children: ChildProcess[] = [];
  const listeners: TcpListener[] = [];
  const dataPath = new DataPath({
    maxConnections: 10_000,
    tcpIdleTimeoutMs: 300_000,
    udpIdleTimeoutMs: 30_000,
    healthCheck: { intervalMs: 5000, timeoutMs: 2000, unhealthyThreshold: 2, healthyThreshold: 1 },
  });
  try {
    const backends = await startBackends();
    children.push(backends.child);
    const localPort = await freePort();
    const haproxyPort = await freePort();
    await dataPath.apply({
      key: 'bench',
      name: 'bench/bench',
      address: host,
      scheduler: 'rr',
      affinityTimeoutMs: undefined,
      sourceRanges: [],
      ports: [
        {
          port: localPort,
          protocol: 'TCP',
          backends: backends.ports.map((port) => ({
            host,
            port,
            weight: 1,
            health: { kind: 'tcp', host, port },
          })),
        },
      ],
    });
    const haproxy = await startHaproxy(haproxyPort, backends.ports);
    children.push(haproxy);

    const jsRelay = await openListener(backends.ports, 'relay');
    listeners.push(jsRelay.listener);
    const targets: { name: string; port: number; cpu: CpuClock | undefined }[] = [
      { name: 'direct', port: backends.ports[0]!, cpu: undefined },
      { name: 'local js', port: jsRelay.port, cpu: ownCpu },
      { name: 'haproxy', port: haproxyPort, cpu: childCpu(haproxy.pid!) },
    ];
    if (dataPath.tcpForwarding === 'native') {
      targets.splice(1, 0, { name: 'local native', port: localPort, cpu: ownCpu });
    } else console.log(`no native relay row: the native relay is ${nativeRelayProblem}`);
    if (args.pipe) {
      const pipe = await openListener(backends.ports, 'pipe');
      listeners.push(pipe.listener);
      targets.splice(targets.length - 1, 0, { name: 'local pipe', port: pipe.port, cpu: ownCpu });
    }
    const workloads = [
      { name: 'small responses (3 B)', path: '/' },
      { name: 'large responses (256 KiB)', path: '/big' },
    ];
    console.log(
      `wrk -t2 -c${connections} -d${seconds}s x ${rounds} interleaved rounds (medians), ` +
        `${backendCount} ${backendServer === 'nginx' ? 'nginx (one worker)' : 'Node'} HTTP backends in one process, keep-alive, ${host}; load ${loadavg()[0]!.toFixed(1)}`,
    );
    for (const workload of workloads) {
      const runs = new Map<string, WrkResult[]>(targets.map((t) => [t.name, []]));
      for (let round = 0; round < rounds; round++) {
        for (const target of targets) {
          runs.get(target.name)!.push(await wrk(target.port, workload.path, target.cpu));
        }
      }
      printTable(workload.name, new Map([...runs].map(([name, r]) => [name, medians(r)])));
    }
  } finally {
    for (const child of children) child.kill();
    for (const listener of listeners) await listener.close(false);
    await dataPath.close();
  }
}

/** The local balancer's listener as the data path opens it, with the given forwarding. */
async function openListener(
  backendPorts: number[],
  forwarding: TcpForwarding,
): Promise<{ listener: TcpListener; port: number }> {
  const balancer = new Balancer({ scheduler: 'rr' });
  balancer.setBackends(backendPorts.map((port) => ({ host, port, weight: 1 })));
  const port = await freePort();
  const listener = await TcpListener.open({
    address: host,
    port,
    balancer,
    logger: noopLogger,
    sourceRanges: [],
    maxConnections: 10_000,
    idleTimeoutMs: 300_000,
    forwarding,
  });
  return { listener, port };
}

function medians(results: WrkResult[]): WrkResult {
  const median = (key: keyof WrkResult) => {
    const sorted = results.map((r) => r[key]).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
  };
  return {
    cpuUsPerRequest: median('cpuUsPerRequest'),
    requestsPerSecond: median('requestsPerSecond'),
    bytesPerSecond: median('bytesPerSecond'),
    p50ms: median('p50ms'),
    p99ms: median('p99ms'),
    errors: results.reduce((n, r) => n + r.errors, 0),
  };
}

function printTable(title: string, results: Map<string, WrkResult>): void {
  const direct = results.get('direct')!;
  const haproxy = results.get('haproxy')!;
  const columns = [
    'req/s',
    'MiB/s',
    'p50 ms',
    'p99 ms',
    'errors',
    'vs direct',
    'vs haproxy',
    'CPU us/req',
  ];
  console.log(`\n${title}`);
  console.log('target'.padEnd(16) + columns.map((c) => c.padStart(11)).join(''));
  for (const [name, r] of results) {
    const cells = [
      r.requestsPerSecond.toFixed(0),
      (r.bytesPerSecond / 1024 ** 2).toFixed(1),
      r.p50ms.toFixed(2),
      r.p99ms.toFixed(2),
      String(r.errors),
      pct(r, direct),
      pct(r, haproxy),
      Number.isNaN(r.cpuUsPerRequest) ? '-' : r.cpuUsPerRequest.toFixed(1),
    ];
    console.log(name.padEnd(16) + cells.map((c) => c.padStart(11)).join(''));
  }
  for (const [name, r] of results) {
    if (!name.startsWith('local')) continue;
    const cpuRatio = haproxy.cpuUsPerRequest / r.cpuUsPerRequest;
    console.log(`${name} does ${(100 * cpuRatio).toFixed(0)}% of HAProxy's work per CPU second`);
  }
}

function pct(r: WrkResult, base: WrkResult): string {
  return `${((100 * r.requestsPerSecond) / base.requestsPerSecond).toFixed(0)}%`;
}

await main();
