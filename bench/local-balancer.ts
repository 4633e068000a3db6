/**
 * Throughput and latency of the local provider's data path, side by side with the physical limit
 * (the same backends reached directly) and with HAProxy configured the same way (mode tcp,
 * roundrobin, one thread). `wrk` drives HTTP keep-alive load against small Node backends that run
 * in their own process, so the balancer's event loop does nothing but forward.
 *
 *   npx tsx bench/local-balancer.ts [--seconds 4] [--connections 50]
 *
 * Needs `haproxy` and `wrk` (Debian packages). Binds 127.0.0.1 only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DataPath } from '../providers/local/data-path.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4' },
    connections: { type: 'string', default: '50' },
    backends: { type: 'string', default: '2' },
  },
});
const seconds = Number(args.seconds);
const connections = Number(args.connections);
const backendCount = Number(args.backends);
const host = '127.0.0.1';

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
  requestsPerSecond: number;
  bytesPerSecond: number;
  p50ms: number;
  p99ms: number;
  errors: number;
}

async function wrk(port: number, path: string): Promise<WrkResult> {
  const child = spawn(
    'wrk',
    ['-t2', `-c${connections}`, `-d${seconds}s`, '--latency', `http://${host}:${port}${path}`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  await once(child, 'exit');
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
  const latency = (pct: string) => toMs(new RegExp(`^\\s+${pct}%\\s+(\\S+)`, 'm').exec(out)?.[1]);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
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
    children.push(await startHaproxy(haproxyPort, backends.ports));

    const targets = [
      { name: 'direct', port: backends.ports[0]! },
      { name: 'kube-lbc local', port: localPort },
      { name: 'haproxy', port: haproxyPort },
    ];
    const workloads = [
      { name: 'small responses (3 B)', path: '/' },
      { name: 'large responses (256 KiB)', path: '/big' },
    ];
    console.log(
      `wrk -t2 -c${connections} -d${seconds}s, ${backendCount} Node HTTP backends in one process, keep-alive, ${host}`,
    );
    for (const workload of workloads) {
      const results = new Map<string, WrkResult>();
      for (const target of targets) results.set(target.name, await wrk(target.port, workload.path));
      printTable(workload.name, results);
    }
  } finally {
    for (const child of children) child.kill();
    await dataPath.close();
  }
}

function printTable(title: string, results: Map<string, WrkResult>): void {
  const direct = results.get('direct')!;
  const haproxy = results.get('haproxy')!;
  console.log(`\n${title}`);
  console.log(
    `${'target'.padEnd(16)}${'req/s'.padStart(10)}${'MiB/s'.padStart(9)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'errors'.padStart(8)}${'vs direct'.padStart(11)}${'vs haproxy'.padStart(12)}`,
  );
  for (const [name, r] of results) {
    console.log(
      `${name.padEnd(16)}${r.requestsPerSecond.toFixed(0).padStart(10)}${(r.bytesPerSecond / 1024 ** 2).toFixed(1).padStart(9)}${r.p50ms.toFixed(2).padStart(9)}${r.p99ms.toFixed(2).padStart(9)}${String(r.errors).padStart(8)}${pct(r, direct).padStart(11)}${pct(r, haproxy).padStart(12)}`,
    );
  }
}

function pct(r: WrkResult, base: WrkResult): string {
  return `${((100 * r.requestsPerSecond) / base.requestsPerSecond).toFixed(0)}%`;
}

await main();
