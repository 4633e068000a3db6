/**
 * The provider conformance kit, exported as `kube-lbc/conformance` for plugin authors. Call
 * `describeProviderConformance` at the top level of a mocha test file; it registers the tests
 * every provider must pass (idempotent ensure, minimal updates, no write on no change, deletes
 * that leave nothing, names within limits, recovery from a crash at any call of a create, and
 * plans that only read and say exactly what ensure then writes, and releases that keep
 * the load balancer but stop claiming it).
 */
import { describeContract } from './cases/contract.js';
import { describeCrashes } from './cases/crash.js';
import { describeLifecycle } from './cases/lifecycle.js';
import { describeListing } from './cases/listing.js';
import { describePlan } from './cases/plan.js';
import { describeRelease } from './cases/release.js';
import { Harness } from './harness.js';
import type { ConformanceOptions } from './options.js';

export type { ConformanceOptions } from './options.js';
export { isWriteOperation } from './options.js';
export { SimulatedCrash } from './recording-calls.js';

export function describeProviderConformance(options: ConformanceOptions): void {
  describe(`provider conformance: ${options.name}`, function () {
    this.timeout(options.timeoutMs ?? 30_000);
    let harness: Harness | undefined;
    const current = (): Harness => {
      if (!harness) throw new Error('conformance harness used outside a test');
      return harness;
    };
    beforeEach(async () => {
      await options.reset?.();
      harness = new Harness(options);
    });
    afterEach(async () => {
      await harness?.cleanUp();
      harness = undefined;
    });

    describe('contract', () => describeContract(current));
    describe('lifecycle', () => describeLifecycle(current));
    describe('crash recovery', () => describeCrashes(current));
    describe('listLoadBalancers', () => describeListing(current));
    describe('planLoadBalancer', () => describePlan(current));
    describe('releaseLoadBalancer', () => describeRelease(current));
  });
}
