/**
 * The conformance kit fails providers that break the contract. It runs the kit, in a child mocha
 * (the kit registers mocha suites), on wrapped fake providers that each break one promise.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { isWriteOperation } from '../../../../providers/conformance/index.js';
import { variants } from './fixtures/broken-providers.js';

const mochaBin = fileURLToPath(
  new URL('../../../../node_modules/mocha/bin/mocha.js', import.meta.url),
);
const fixture = fileURLToPath(new URL('./fixtures/broken.kit.ts', import.meta.url));

interface JsonTest {
  fullTitle: string;
}

describe('provider conformance kit', () => {
  describe('on providers that break the contract', () => {
    let failures: string[] = [];
    let passes: string[] = [];

    before(async function () {
      this.timeout(60_000);
      const dir = await mkdtemp(join(tmpdir(), 'kit-'));
      const output = join(dir, 'report.json');
      const args = [mochaBin, '--no-config', '--node-option', 'import=tsx', '--extension', 'ts'];
      args.push('--reporter', 'json', '--reporter-option', `output=${output}`, fixture);
      // The run fails (broken providers fail); the report is what matters.
      await promisify(execFile)(process.execPath, args).catch(() => {});
      const report = JSON.parse(await readFile(output, 'utf8')) as {
        failures: JsonTest[];
        passes: JsonTest[];
      };
      await rm(dir, { recursive: true });
      failures = report.failures.map((t) => t.fullTitle);
      passes = report.passes.map((t) => t.fullTitle);
    });

    it('passes the unbroken control entirely', () => {
      assert.ok(passes.some((t) => t.includes('conformance: control ')));
      assert.deepEqual(
        failures.filter((t) => t.includes('conformance: control ')),
        [],
      );
    });

    for (const variant of variants.filter((v) => v.mustFail.length > 0)) {
      it(`fails a provider that ${variant.name}`, () => {
        const mine = failures.filter((t) => t.includes(`conformance: ${variant.name} `));
        for (const title of variant.mustFail) {
          assert.ok(
            mine.some((t) => t.includes(title)),
            `"${title}" did not fail; failed: ${JSON.stringify(mine, null, 2)}`,
          );
        }
      });
    }
  });

  describe('isWriteOperation', () => {
    const table = [
      { operation: 'CreateLoadBalancer', write: true },
      { operation: 'elbv2.RegisterTargets', write: true },
      { operation: 'forwardingRules.insert', write: true },
      { operation: 'ModifyListener', write: true },
      { operation: 'DescribeLoadBalancers', write: false },
      { operation: 'GetAddresses', write: false },
      { operation: 'compute.addresses.get', write: false },
      { operation: 'ListTagsForResource', write: false },
    ];
    for (const c of table) {
      it(`counts ${c.operation} as a ${c.write ? 'write' : 'read'}`, () => {
        assert.equal(isWriteOperation(c.operation), c.write);
      });
    }
  });
});
