/**
 * How fast `kube-lbc --help` and `--version` answer from dist/ (run `npm run build` first), next
 * to a bare `node -e 0` on the same machine: wall time of N runs each, interleaved, median and
 * worst. The command loads no provider, no Kubernetes client and no AWS SDK for these.
 *
 *   npx tsx bench/cli-startup.ts [--runs 15]
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const runsFlag = process.argv.indexOf('--runs');
const runs = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 15;
const entry = new URL('../dist/cmd/kube-lbc.js', import.meta.url).pathname;
if (!existsSync(entry)) throw new Error(`${entry} is missing: npm run build first`);

const cases: Record<string, string[]> = {
  'node -e 0': ['-e', '0'],
  'kube-lbc --version': [entry, '--version'],
  'kube-lbc --help': [entry, '--help'],
  'kube-lbc run --help': [entry, 'run', '--help'],
};
const times = new Map<string, number[]>(Object.keys(cases).map((k) => [k, []]));
for (let i = 0; i < runs; i++) {
  for (const [name, args] of Object.entries(cases)) {
    const start = performance.now();
    execFileSync(process.execPath, args, { stdio: 'ignore' });
    times.get(name)!.push(performance.now() - start);
  }
}
console.log(`node ${process.version}, ${runs} runs each, wall ms`);
for (const [name, t] of times) {
  t.sort((a, b) => a - b);
  console.log(
    `${name.padEnd(22)} median ${t[Math.floor(t.length / 2)]!.toFixed(0).padStart(4)}   max ${t.at(-1)!.toFixed(0).padStart(4)}`,
  );
}
