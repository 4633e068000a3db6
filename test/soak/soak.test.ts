/**
 * The short soak, inside `make test`: two kube-lbc processes electing a leader over the fake cloud
 * served to both (50 ms calls, 10% transient errors, throttling bursts, 3% lost answers), the
 * leader SIGKILLed in every wave, half the deletes made while every replica is down, and the API
 * emulator's faults. Whatever the timing, nothing may be left in the cloud, duplicated, or held by
 * a finalizer. The full soak, with figures, is `make soak` (bench/soak.ts).
 */
import assert from 'node:assert/strict';
import { fakeSoakCloud } from './clouds.js';
import { formatPhase } from './report.js';
import { runPhase } from './soak.js';

describe('the short soak', function () {
  this.timeout(180_000);

  it('converges every wave through kills and faults, leaving no orphan, duplicate or stuck finalizer', async () => {
    const report = await runPhase({
      name: 'fake-short',
      services: 40,
      outageMs: 3000,
      waveTimeoutMs: 40_000,
      faults: true,
      cloud: (dir, prefix) =>
        fakeSoakCloud({
          dir,
          prefix,
          nodes: 10,
          faults: {
            latencyMs: 50,
            failureRate: 0.1,
            throttleRate: 0.002,
            throttleBurst: 20,
            lostAnswerRate: 0.03,
          },
        }),
    });
    const text = formatPhase(report);
    for (const w of report.waves) {
      assert.equal(w.orphans, 0, `orphans after ${w.wave}\n${text}`);
      assert.equal(w.duplicates, 0, `duplicates after ${w.wave}\n${text}`);
      assert.equal(w.stuck, 0, `stuck finalizers after ${w.wave}\n${text}`);
      assert.equal(
        w.converged,
        w.total,
        `converged after ${w.wave} (${w.examples.join('; ')})\n${text}`,
      );
    }
    assert.ok(report.kills >= 3, `at least 3 kills\n${text}`);
    assert.equal(
      report.killsSurvived,
      report.faults.filter((f) => f.fault.startsWith('SIGKILL')).length,
    );
  });
});
