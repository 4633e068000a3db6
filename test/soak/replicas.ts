/**
 * kube-lbc replicas as separate processes (`node --import tsx cmd/kube-lbc.ts run`), supervised as
 * a Deployment would be: a replica that exits by itself (a lost lease) is started again after a
 * second, one that the soak SIGKILLs stays down until `restart`. Each replica's /metrics and its
 * /proc figures (peak RSS, CPU seconds) are sampled while it lives, so a SIGKILL loses at most
 * the last second of counters.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** What one process reported, last seen. */
export interface ProcessFigures {
  calls: number;
  retries: number;
  /** VmHWM, bytes. */
  peakRss: number;
  cpuSeconds: number;
}

export interface ReplicaSetOptions {
  readonly count: number;
  /** `run` flags other than the ports, which are picked here. */
  readonly args: readonly string[];
  /** Where each process's output goes (`replica-<i>.log`). */
  readonly logDir: string;
  readonly env?: NodeJS.ProcessEnv;
  /** `dist`: the built `dist/cmd/kube-lbc.js` (after `npm run build`); `tsx`: the sources. @default 'tsx' */
  readonly bin?: 'tsx' | 'dist';
}

interface Replica {
  readonly index: number;
  readonly metricsPort: number;
  child?: ChildProcess;
  /** Figures of the live process; folded into `finished` when it ends. */
  live?: ProcessFigures;
  /** Set while the soak holds it down. */
  held: boolean;
}

export class ReplicaSet {
  readonly #options: ReplicaSetOptions;
  readonly #replicas: Replica[] = [];
  readonly #finished: ProcessFigures[] = [];
  #sampler?: NodeJS.Timeout;
  #closed = false;
  /** Kills by the soak, and exits the replicas made themselves. */
  kills = 0;
  selfExits = 0;

  private constructor(options: ReplicaSetOptions) {
    this.#options = options;
  }

  static async start(options: ReplicaSetOptions): Promise<ReplicaSet> {
    const set = new ReplicaSet(options);
    for (let index = 0; index < options.count; index++) {
      const replica: Replica = { index, metricsPort: await freePort(), held: false };
      set.#replicas.push(replica);
      set.#spawn(replica);
    }
    set.#sampler = setInterval(() => void set.sample(), 1000);
    return set;
  }

  /** The index of the replica whose /metrics says it leads, if one does. */
  async leader(): Promise<number | undefined> {
    for (const r of this.#replicas) {
      if (!r.child) continue;
      const text = await scrape(r.metricsPort);
      if (text && /^leader_election_master_status\{[^}]*\} 1$/m.test(text)) return r.index;
    }
    return undefined;
  }

  /** SIGKILLs replica `index` after a last sample; it stays down until `restart`. */
  async kill(index: number): Promise<void> {
    const r = this.#replicas[index]!;
    r.held = true;
    await this.#sampleOne(r);
    const child = r.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    this.kills++;
    await exited;
  }

  restart(index: number): void {
    const r = this.#replicas[index]!;
    r.held = false;
    if (!r.child) this.#spawn(r);
  }

  get size(): number {
    return this.#replicas.length;
  }

  /** Sums over every process this set has run: calls and retries, CPU; the highest peak RSS. */
  figures(): ProcessFigures {
    const all = [...this.#finished, ...this.#replicas.flatMap((r) => (r.live ? [r.live] : []))];
    return {
      calls: sum(all.map((f) => f.calls)),
      retries: sum(all.map((f) => f.retries)),
      peakRss: Math.max(0, ...all.map((f) => f.peakRss)),
      cpuSeconds: sum(all.map((f) => f.cpuSeconds)),
    };
  }

  async sample(): Promise<void> {
    await Promise.all(this.#replicas.map((r) => this.#sampleOne(r)));
  }

  /** SIGTERMs every replica and waits for them to end. */
  async stop(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sampler);
    await this.sample();
    await Promise.all(
      this.#replicas.map(async (r) => {
        const child = r.child;
        if (!child) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const forced = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(forced);
      }),
    );
  }

  #spawn(r: Replica): void {
    const log = createWriteStream(join(this.#options.logDir, `replica-${r.index}.log`), {
      flags: 'a',
    });
    const child = spawn(
      process.execPath,
      [
        ...(this.#options.bin === 'dist'
          ? [join(root, 'dist/cmd/kube-lbc.js')]
          : ['--import', 'tsx', join(root, 'cmd/kube-lbc.ts')]),
        'run',
        ...this.#options.args,
        '--metrics-bind-address',
        `127.0.0.1:${r.metricsPort}`,
        '--health-probe-bind-address',
        '0',
      ],
      {
        cwd: root,
        env: { ...process.env, ...this.#options.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    r.child = child;
    r.live = undefined;
    child.once('exit', (code, signal) => {
      log.end(`--- exited: code ${code}, signal ${signal}\n`);
      if (r.live) this.#finished.push(r.live);
      r.live = undefined;
      r.child = undefined;
      if (this.#closed || r.held) return;
      // Exited by itself (a lost lease exits 1): restarted as a pod would be.
      this.selfExits++;
      setTimeout(() => {
        if (!this.#closed && !r.held && !r.child) this.#spawn(r);
      }, 1000);
    });
  }

  async #sampleOne(r: Replica): Promise<void> {
    const child = r.child;
    if (!child?.pid) return;
    const proc = procFigures(child.pid);
    const text = await scrape(r.metricsPort);
    if (r.child !== child) return;
    const previous = r.live ?? { calls: 0, retries: 0, peakRss: 0, cpuSeconds: 0 };
    r.live = {
      calls: text ? metricSum(text, 'kube_lbc_cloud_api_calls_total') : previous.calls,
      retries: text ? metricSum(text, 'kube_lbc_cloud_api_retries_total') : previous.retries,
      peakRss: Math.max(previous.peakRss, proc?.peakRss ?? 0),
      cpuSeconds: proc?.cpuSeconds ?? previous.cpuSeconds,
    };
  }
}

async function scrape(port: number): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, {
      signal: AbortSignal.timeout(2000),
    });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}

/** The sum of every series of a counter in Prometheus text. */
export function metricSum(text: string, name: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
    }
  }
  return total;
}

/** Linux only: VmHWM from /proc/<pid>/status, utime + stime from /proc/<pid>/stat. */
function procFigures(pid: number): { peakRss: number; cpuSeconds: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the command; clock ticks of 1/100 s.
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { peakRss: Number(hwm?.[1] ?? 0) * 1024, cpuSeconds: ticks / 100 };
  } catch {
    return undefined;
  }
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
