/** Prints a soak phase, with and without faults, as the README shows it. */
import type { PhaseReport } from './soak.js';

export function formatPhase(faulty: PhaseReport, clean?: PhaseReport): string {
  const lines: string[] = [];
  const services = faulty.waves[0]?.total ?? 0;
  lines.push(`phase ${faulty.name} (${services} Services, API: ${faulty.target})`);
  lines.push(
    `  ${'wave'.padEnd(8)} ${'converged'.padStart(11)} ${'time'.padStart(8)} ${'fault-free'.padStart(10)} ${'ratio'.padStart(6)}  orphans  dup  stuck`,
  );
  for (const w of faulty.waves) {
    const base = clean?.waves.find((b) => b.wave === w.wave);
    lines.push(
      `  ${w.wave.padEnd(8)} ${`${w.converged}/${w.total}`.padStart(11)} ${`${w.seconds.toFixed(1)} s`.padStart(8)}` +
        ` ${base ? `${base.seconds.toFixed(1)} s`.padStart(10) : ''.padStart(10)}` +
        ` ${base ? `${(w.seconds / base.seconds).toFixed(2)}x`.padStart(6) : ''.padStart(6)}` +
        `  ${String(w.orphans).padStart(7)}  ${String(w.duplicates).padStart(3)}  ${String(w.stuck).padStart(5)}`,
    );
  }
  const p = faulty.processes;
  const perService = (n: number) => (services ? (n / services).toFixed(1) : '-');
  lines.push(
    `  kills survived ${faulty.killsSurvived}/${faulty.faults.filter((f) => f.fault.startsWith('SIGKILL')).length}` +
      ` (${faulty.kills} SIGKILLs in all, ${faulty.selfExits} exits on a lost lease, restarted)`,
  );
  lines.push(
    `  cloud calls per Service ${perService(p.calls)} (gate attempts; ${perService(faulty.cloudRequests)} requests seen by the cloud),` +
      ` retries per Service ${perService(p.retries)}`,
  );
  if (clean) {
    lines.push(
      `  fault-free: cloud calls per Service ${perService(clean.processes.calls)}, retries ${perService(clean.processes.retries)}`,
    );
  }
  lines.push(
    `  replicas: peak RSS ${(p.peakRss / 2 ** 20).toFixed(0)} MB, CPU ${p.cpuSeconds.toFixed(1)} s` +
      (clean
        ? ` (fault-free: ${(clean.processes.peakRss / 2 ** 20).toFixed(0)} MB, ${clean.processes.cpuSeconds.toFixed(1)} s)`
        : ''),
  );
  lines.push('  recovery per fault (from the fault until its wave converged):');
  for (const f of faulty.faults) {
    const took =
      f.recoverySeconds === undefined ? 'not recovered' : `${f.recoverySeconds.toFixed(1)} s`;
    lines.push(`    ${f.wave.padEnd(7)} ${f.fault.padEnd(66)} ${took}`);
  }
  return lines.join('\n');
}
