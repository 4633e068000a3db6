/**
 * The soak (`make soak`): two kube-lbc replicas as processes with leader election, the leader
 * SIGKILLed in every wave, API faults on the emulator (or, with $KUBECONFIG set, the server behind
 * it, without API faults), and two phases:
 *   fake: 1,000 Services over 100 Nodes, the fake cloud served to both replicas with 50 ms calls,
 *         10% transient errors, throttling bursts and 3% lost answers;
 *   aws:  200 Services on moto behind the project's fault proxy (5% 503, 3% lost answers).
 * Each phase runs once without faults (the time to compare with) and once with them, then prints
 * converged / total, times, orphans, duplicates, stuck finalizers, kills, recovery per fault,
 * calls and retries per Service, peak RSS and CPU. Bounded: every wave gives up at its limit.
 *
 *   npx tsx bench/soak.ts [--services 1000] [--nodes 100] [--aws-services 200] [--outage-s 30]
 *                         [--wave-limit-s 150] [--aws-wave-limit-s 600] [--skip-aws] [--skip-fake]
 *                         [--dist]
 *
 * The AWS phase has a limit of its own: moto and the AWS-shaped budgets make 200 NLBs in about
 * 330 s without faults, so the fake phase's 150 s would cut every wave off unconverged.
 */
import { awsSoakCloud, fakeSoakCloud } from '../test/soak/clouds.js';
import { formatPhase } from '../test/soak/report.js';
import { runPhase, type PhaseOptions } from '../test/soak/soak.js';
import { startAwsEndpoint } from '../test/support/moto.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const services = flag('services', 1000);
const nodes = flag('nodes', 100);
const awsServices = flag('aws-services', 200);
const outageMs = flag('outage-s', 30) * 1000;
const waveTimeoutMs = flag('wave-limit-s', 150) * 1000;
const awsWaveTimeoutMs = flag('aws-wave-limit-s', 600) * 1000;
const log = (line: string) => console.error(line);
// `make soak` builds first and runs the replicas from dist/, sparing each start a compile.
const replicaBin = args.includes('--dist') ? ('dist' as const) : ('tsx' as const);

async function both(base: Omit<PhaseOptions, 'faults'>, faultyCloud: PhaseOptions['cloud']) {
  log(`${base.name}: fault-free run`);
  const clean = await runPhase({ ...base, faults: false, log, bin: replicaBin });
  log(`${base.name}: run with faults`);
  const faulty = await runPhase({
    ...base,
    cloud: faultyCloud,
    faults: true,
    log,
    bin: replicaBin,
  });
  console.log(formatPhase(faulty, clean));
  console.log();
}

const started = performance.now();
const fakeFaults = {
  latencyMs: 50,
  failureRate: 0.1,
  throttleRate: 0.002,
  throttleBurst: 20,
  lostAnswerRate: 0.03,
};
const fakeBase = { name: 'fake', services, outageMs, waveTimeoutMs };
if (!args.includes('--skip-fake')) {
  await both(
    {
      ...fakeBase,
      cloud: (dir, prefix) =>
        fakeSoakCloud({
          dir,
          prefix,
          nodes,
          faults: { ...fakeFaults, failureRate: 0, throttleRate: 0, lostAnswerRate: 0 },
        }),
    },
    (dir, prefix) => fakeSoakCloud({ dir, prefix, nodes, faults: fakeFaults }),
  );
}
if (!args.includes('--skip-aws')) {
  const endpoint = await startAwsEndpoint();
  try {
    const aws =
      (unavailableRate: number, lostAnswerRate: number): PhaseOptions['cloud'] =>
      (dir, prefix) =>
        awsSoakCloud({
          dir,
          prefix,
          endpoint,
          clusterName: prefix,
          nodes: 3,
          faults: { unavailableRate, lostAnswerRate },
        });
    await both(
      {
        name: 'aws',
        services: awsServices,
        outageMs,
        waveTimeoutMs: awsWaveTimeoutMs,
        cloud: aws(0, 0),
      },
      aws(0.05, 0.03),
    );
  } finally {
    await endpoint.stop();
  }
}
console.log(`soak done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
