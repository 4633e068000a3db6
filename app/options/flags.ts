/**
 * The `run` flags, named as the upstream cloud-controller-manager's where one exists. Defaults
 * live here and only here; `buildConfig` turns the parsed values into the frozen Config.
 */
import { Command, Option } from 'commander';
import { buildConfig, type Config } from './config.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Adds the controller flags to `cmd`. */
export function addControllerFlags(cmd: Command): Command {
  return cmd
    .option(
      '--kubeconfig <path>',
      'kubeconfig file (default: in-cluster config, then $KUBECONFIG, then ~/.kube/config)',
    )
    .option(
      '--cloud-provider <name>',
      'built-in provider (aws, gcp, local, fake) or a plugin module specifier',
    )
    .option('--cloud-config <path>', 'provider configuration file, YAML or JSON')
    .option(
      '--cluster-name <name>',
      'names and tags cloud resources; unique per cloud account',
      'kubernetes',
    )
    .option(
      '--concurrent-service-syncs <n>',
      'Services reconciled at once (cloud rate limits are the real bound)',
      '50',
    )
    .option(
      '--load-balancer-class <class>',
      'a spec.loadBalancerClass this controller claims (repeatable)',
      collect,
    )
    .addOption(
      new Option('--handle-unclassed [bool]', 'also act on Services without a loadBalancerClass')
        .default('true')
        .preset('true'),
    )
    .option(
      '--node-sync-period <duration>',
      'how often every load balancer is re-checked against the nodes',
      '100s',
    )
    .option(
      '--node-sync-batch-window <duration>',
      'node changes within this window are applied in one pass',
      '1s',
    )
    .option(
      '--service-node-port-range <min-max>',
      "the cluster's NodePort range, for ports kube-lbc allocates",
      '30000-32767',
    )
    .option(
      '--gc-period <duration>',
      'how often orphaned cloud load balancers are looked for (0 disables)',
      '10m',
    )
    .option(
      '--load-balancer-resync-period <duration>',
      'how often every load balancer is re-read from the cloud and repaired (0 disables)',
      '10m',
    )
    .option(
      '--cloud-qps <n>',
      "sustained cloud calls per second of the provider's default budget; its other budgets scale alike",
    )
    .option(
      '--cloud-burst <n>',
      "burst of the provider's default budget; its other budgets scale alike",
    )
    .option(
      '--cloud-budget <family=qps:burst[:concurrency]>',
      "one call budget of the provider's, set alone (aws: describe, mutate, register, ec2-describe, ec2-mutate); repeatable",
      collect,
    )
    .option(
      '--cloud-call-stall-timeout <duration>',
      '/healthz fails when cloud calls wait and none has started or finished for this long (0 disables)',
      '3m',
    )
    .addOption(
      new Option('--leader-elect [bool]', 'elect a leader among replicas through a Lease')
        .default('true')
        .preset('true'),
    )
    .option(
      '--leader-elect-lease-duration <duration>',
      'how long a standby waits before taking an unrenewed lease',
      '15s',
    )
    .option(
      '--leader-elect-renew-deadline <duration>',
      'how long the leader keeps trying to renew before it stops',
      '10s',
    )
    .option('--leader-elect-retry-period <duration>', 'how often to try to acquire or renew', '2s')
    .option('--leader-elect-resource-name <name>', 'the Lease name', 'kube-lbc')
    .option('--leader-elect-resource-namespace <ns>', 'the Lease namespace', 'kube-system')
    .option(
      '--metrics-bind-address <addr>',
      'where /metrics is served (0 disables); loopback only unless set, see docs/operations.md',
      '127.0.0.1:8080',
    )
    .option(
      '--health-probe-bind-address <addr>',
      'where /healthz and /readyz are served (0 disables)',
      '127.0.0.1:8081',
    )
    .option('--log-level <level>', 'debug, info, warn or error', 'info')
    .option('--log-format <format>', 'json or text', 'json')
    .option(
      '--shutdown-grace-period <duration>',
      'how long in-flight syncs may take after SIGTERM',
      '25s',
    );
}

/** Commander hands options over in camelCase; the Config builder reads flag names. */
export function flagValues(cmd: Command): Record<string, string | boolean | string[] | undefined> {
  return Object.fromEntries(
    Object.entries(cmd.opts()).map(([k, v]) => [
      k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`),
      v,
    ]),
  );
}

/**
 * The Config that `kube-lbc run <args>` would build: the defaults are the flags' own, so a
 * caller that runs the controller in-process (the sandbox, benchmarks) states only what differs.
 */
export function configFromArgs(args: readonly string[]): Config {
  const cmd = addControllerFlags(new Command('run')).exitOverride();
  cmd.parse([...args], { from: 'user' });
  return buildConfig(flagValues(cmd));
}
