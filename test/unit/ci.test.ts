/**
 * The AWS CI workflow and `make test-aws` fit together: only the AWS suites, either endpoint; and
 * the CI entry runs every test on the machine's Node, then the quick suites on Node 22 and 24.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { parse } from 'yaml';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;

describe('make test-aws and its CI workflow', () => {
  it('make test-aws runs mocha on the AWS suites only', async () => {
    // -W node_modules: as if installed, so the dry run prints only the target's own command.
    const { stdout } = await run('make', ['-n', '-W', 'node_modules', 'test-aws'], { cwd: root });
    const mocha = stdout.split('\n').filter((l) => /^mocha /.test(l));
    assert.equal(mocha.length, 1, stdout);
    const specs = mocha[0]!
      .split(' ')
      .slice(1)
      .map((s) => s.replace(/'/g, ''));
    assert.ok(specs.length > 0);
    for (const spec of specs) assert.match(spec, /^test\/(unit\/providers|integration)\/aws\//);
  });

  it('the workflow runs make test-aws against a LocalStack service container, and against moto', () => {
    const workflow = parse(readFileSync(`${root}.github/workflows/aws-localstack.yml`, 'utf8'));
    const localstack = workflow.jobs.localstack;
    assert.match(localstack.services.localstack.image, /^localstack\/localstack-pro/);
    const step = localstack.steps.find((s: { run?: string }) => s.run === 'make test-aws');
    assert.match(step.env.LOCALSTACK_ENDPOINT, /^http:\/\/127\.0\.0\.1:4566$/);
    const moto = workflow.jobs.moto;
    assert.ok(moto.steps.some((s: { run?: string }) => /moto\[server\]/.test(s.run ?? '')));
    assert.ok(moto.steps.some((s: { run?: string }) => s.run === 'make test-aws'));
  });
});

describe('.ci/run', () => {
  it("runs make test, then make test-node-versions, and ends on the whole suite's count", () => {
    const lines = readFileSync(`${root}.ci/run`, 'utf8').split('\n');
    const steps = lines.filter((l) => /^make /.test(l));
    assert.deepEqual(steps.slice(-2), [
      'make test 2>&1 | tee .cache/make-test.log',
      'make test-node-versions',
    ]);
    assert.match(lines.filter(Boolean).at(-1)!, /^grep .* \.cache\/make-test\.log \| tail -n 1$/);
  });
});
