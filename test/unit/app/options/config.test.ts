import assert from 'node:assert/strict';
import { Command } from 'commander';
import { buildConfig, ConfigError, type RawFlags } from '../../../../app/options/config.js';
import { parseDuration } from '../../../../app/options/duration.js';
import { addControllerFlags, flagValues } from '../../../../app/options/flags.js';

function parse(...argv: string[]): RawFlags {
  const cmd = addControllerFlags(new Command()).exitOverride();
  cmd.parse(argv, { from: 'user' });
  return flagValues(cmd);
}

function errorsOf(...argv: string[]): readonly string[] {
  try {
    buildConfig(parse(...argv));
  } catch (err) {
    if (err instanceof ConfigError) return err.errors;
    throw err;
  }
  return [];
}

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = buildConfig(parse('--cloud-provider', 'fake'));
    assert.equal(c.clusterName, 'kubernetes');
    assert.equal(c.concurrentServiceSyncs, 50);
    assert.equal(c.handleUnclassed, true);
    assert.deepEqual(c.loadBalancerClasses, []);
    assert.equal(c.nodeSyncPeriodMs, 100_000);
    assert.deepEqual(c.nodePortRange, { min: 30000, max: 32767 });
    assert.equal(c.cloudCallStallTimeoutMs, 180_000);
    // Loopback: never every interface, where a local load-balancer address would reach them.
    assert.deepEqual(
      [c.metricsBindAddress, c.healthProbeBindAddress],
      ['127.0.0.1:8080', '127.0.0.1:8081'],
    );
    assert.deepEqual(
      [
        c.leaderElection.enabled,
        c.leaderElection.leaseDurationMs,
        c.leaderElection.renewDeadlineMs,
        c.leaderElection.retryPeriodMs,
      ],
      [true, 15_000, 10_000, 2_000],
    );
    assert.ok(Object.isFrozen(c));
  });

  it('takes repeated --load-balancer-class and --handle-unclassed=false', () => {
    const c = buildConfig(
      parse(
        '--cloud-provider',
        'aws',
        '--load-balancer-class',
        'a.io/lb',
        '--load-balancer-class',
        'b.io/lb',
        '--handle-unclassed',
        'false',
      ),
    );
    assert.deepEqual(c.loadBalancerClasses, ['a.io/lb', 'b.io/lb']);
    assert.equal(c.handleUnclassed, false);
  });

  it('reports every bad flag at once, each naming the flag and the value', () => {
    const errors = errorsOf(
      '--concurrent-service-syncs',
      '0',
      '--node-sync-period',
      'soon',
      '--cluster-name',
      'Prod_1',
      '--service-node-port-range',
      '40000-30000',
    );
    assert.equal(errors.length, 5);
    assert.match(errors.join('\n'), /--cloud-provider: required/);
    assert.match(errors.join('\n'), /--concurrent-service-syncs: .*got "0"/);
    assert.match(errors.join('\n'), /--node-sync-period: .*got "soon"/);
    assert.match(errors.join('\n'), /--cluster-name: "Prod_1"/);
    assert.match(errors.join('\n'), /--service-node-port-range: .*"40000-30000"/);
  });

  it('takes --cloud-call-stall-timeout as a duration, 0 turning the check off', () => {
    assert.equal(
      buildConfig(parse('--cloud-provider', 'fake', '--cloud-call-stall-timeout', '0'))
        .cloudCallStallTimeoutMs,
      0,
    );
    assert.match(
      errorsOf('--cloud-provider', 'fake', '--cloud-call-stall-timeout', 'never').join('\n'),
      /--cloud-call-stall-timeout: .*got "never"/,
    );
  });

  it('refuses numbers and durations out of range, each named with what it accepts', () => {
    // 600h overflows Node's timer (2^31 - 1 ms) to about 1 ms: a sync loop, not a period.
    const errors = errorsOf(
      '--cloud-provider',
      'fake',
      '--node-sync-period',
      '600h',
      '--gc-period',
      '1000000m',
      '--cloud-qps',
      'Infinity',
      '--cloud-burst',
      '1.5',
      '--concurrent-service-syncs',
      '1e3',
    );
    assert.equal(errors.length, 5, errors.join('\n'));
    assert.match(errors.join('\n'), /--node-sync-period: .*up to 596h, got "600h"/);
    assert.match(errors.join('\n'), /--gc-period: .*up to 596h, got "1000000m"/);
    assert.match(
      errors.join('\n'),
      /--cloud-qps: expected a number above 0 and up to 100000, got "Infinity"/,
    );
    assert.match(
      errors.join('\n'),
      /--cloud-burst: expected an integer above 0 and up to 100000, got "1.5"/,
    );
    assert.match(
      errors.join('\n'),
      /--concurrent-service-syncs: expected an integer from 1 to 10000, got "1e3"/,
    );
  });

  it('refuses a --cloud-provider that is neither a package name nor a path, with the other bad flags', () => {
    for (const name of [
      'data:text/javascript,export default () => null',
      'node:fs',
      'child_process',
    ]) {
      const errors = errorsOf('--cloud-provider', name, '--cluster-name', 'Bad_Name');
      assert.equal(errors.length, 2, errors.join('\n'));
      assert.match(
        errors.join('\n'),
        /--cloud-provider: .*(neither a provider name, a package name nor a path|Node\.js built-in)/,
      );
    }
  });

  it('quotes a long flag value cut short', () => {
    const [error] = errorsOf('--cloud-provider', 'fake', '--cluster-name', 'x'.repeat(5000));
    assert.ok(error && error.length < 300, error);
  });

  it('takes --cloud-budget per family, repeatable, and names each bad value', () => {
    const c = buildConfig(
      parse(
        '--cloud-provider',
        'aws',
        '--cloud-budget',
        'describe=20:80',
        '--cloud-budget',
        'register=2:10:3',
      ),
    );
    assert.deepEqual(c.cloudBudgets, {
      describe: { qps: 20, burst: 80 },
      register: { qps: 2, burst: 10, concurrency: 3 },
    });
    assert.deepEqual(buildConfig(parse('--cloud-provider', 'aws')).cloudBudgets, {});
    const errors = errorsOf(
      '--cloud-provider',
      'aws',
      '--cloud-budget',
      'describe',
      '--cloud-budget',
      'mutate=0:10',
      '--cloud-budget',
      'register=1:1:0.5',
      '--cloud-budget',
      'mutate=1:2',
      '--cloud-budget',
      'mutate=1:3',
    );
    assert.equal(errors.length, 4);
    assert.match(
      errors[0]!,
      /--cloud-budget: expected family=qps:burst\[:concurrency\].*got "describe"/,
    );
    assert.match(errors[1]!, /got "mutate=0:10"/);
    assert.match(errors[2]!, /got "register=1:1:0.5"/);
    assert.match(errors[3]!, /family "mutate" given twice/);
  });

  it('refuses leader-election timings that cannot work', () => {
    const errors = errorsOf('--cloud-provider', 'fake', '--leader-elect-renew-deadline', '20s');
    assert.match(
      errors.join('\n'),
      /renew-deadline \(20s\) must be shorter than --leader-elect-lease-duration \(15s\)/,
    );
  });

  it('refuses a retry period the renew deadline cannot fit 1.2 times (the elector would refuse it after start-up)', () => {
    const errors = errorsOf('--cloud-provider', 'fake', '--leader-elect-retry-period', '9s');
    assert.match(
      errors.join('\n'),
      /--leader-elect-renew-deadline \(10s\) must be more than 1.2 x --leader-elect-retry-period \(9s\)/,
    );
  });

  it('refuses a Lease name or namespace the API server would reject, as upstream requires both', () => {
    const errors = errorsOf(
      '--cloud-provider',
      'fake',
      '--leader-elect-resource-name=',
      '--leader-elect-resource-namespace',
      'Kube_System',
    );
    assert.equal(errors.length, 2, errors.join('\n'));
    assert.match(errors.join('\n'), /--leader-elect-resource-name: "" /);
    assert.match(errors.join('\n'), /--leader-elect-resource-namespace: "Kube_System" /);
    assert.match(
      errorsOf('--cloud-provider', 'fake', '--leader-elect-resource-name', 'Lease..x').join('\n'),
      /--leader-elect-resource-name: "Lease..x"/,
    );
    // Without leader election the Lease is never read, so its names do not matter.
    assert.doesNotThrow(() =>
      buildConfig(
        parse('--cloud-provider', 'fake', '--leader-elect=false', '--leader-elect-resource-name='),
      ),
    );
    assert.equal(
      buildConfig(parse('--cloud-provider', 'fake', '--leader-elect-resource-name', 'kube-lbc.aws'))
        .leaderElection.resourceName,
      'kube-lbc.aws',
    );
  });

  it('refuses a configuration that would act on nothing', () => {
    assert.match(
      errorsOf('--cloud-provider', 'fake', '--handle-unclassed', 'false').join('\n'),
      /would act on nothing/,
    );
  });

  it('refuses a bind address the HTTP server cannot read, and takes the forms it can', () => {
    const errors = errorsOf(
      '--cloud-provider',
      'fake',
      '--metrics-bind-address',
      '::1:8080',
      '--health-probe-bind-address',
      'abc',
    );
    assert.deepEqual(errors, [
      '--metrics-bind-address: expected host:port, [v6]:port, :port or 0 to disable, got "::1:8080"',
      '--health-probe-bind-address: expected host:port, [v6]:port, :port or 0 to disable, got "abc"',
    ]);
    assert.deepEqual(
      errorsOf(
        '--cloud-provider',
        'fake',
        '--metrics-bind-address',
        '[::1]:8080',
        '--health-probe-bind-address',
        '0',
      ),
      [],
    );
  });
});

describe('parseDuration', () => {
  for (const [text, ms] of [
    ['15s', 15000],
    ['1m30s', 90000],
    ['500ms', 500],
    ['2h', 7_200_000],
    ['0', 0],
    ['1.5s', 1500],
  ] as const) {
    it(`reads ${text} as ${ms} ms`, () => assert.equal(parseDuration(text), ms));
  }
  for (const text of ['', '15', 's', '1x', '1s2']) {
    it(`refuses "${text}"`, () => assert.ok(Number.isNaN(parseDuration(text))));
  }
});
