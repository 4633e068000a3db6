#!/usr/bin/env node
/**
 * The kube-lbc command: `run` (the controller), `sandbox` (the controller against an embedded
 * API server, with the local load balancer: the demo), `proxy` (the local provider's edge agent).
 * Bad flags exit 2 with every one named, a bad cloud-config exits 2 naming its first bad key; a
 * lost lease exits 1.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import {
  ProviderConfigError,
  ProviderStartError,
  UnknownProviderError,
  errorMessage,
  findCause,
} from '../contract/errors.js';
import { ConfigError } from '../app/options/config.js';
import { quote } from '../contract/quote.js';
import { addControllerFlags, flagValues } from '../app/options/flags.js';

const version = readVersion();

function readVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      return (
        JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { version: string }
      ).version;
    } catch {
      // compiled (dist/cmd) and source (cmd) layouts sit at different depths
    }
  }
  return 'unknown';
}

/**
 * Exit code 2 for anything the user can fix in flags or config, as upstream's CCM does.
 * `providerFlags` names the flags a provider error points at, as the subcommand spells them.
 */
function fail(err: unknown, providerFlags = '--cloud-provider/--cloud-config'): never {
  if (err instanceof ConfigError) {
    for (const e of err.errors) process.stderr.write(`kube-lbc: ${e}\n`);
    process.exit(2);
  }
  const userError = findCause(err, ProviderConfigError) ?? findCause(err, UnknownProviderError);
  if (userError) {
    process.stderr.write(
      `kube-lbc: ${providerFlags}: ${userError.message}${userError.cause ? ` (${errorMessage(userError.cause)})` : ''}\n`,
    );
    process.exit(2);
  }
  process.stderr.write(
    `kube-lbc: ${err instanceof ProviderStartError ? err.message : errorMessage(err)}\n`,
  );
  process.exit(1);
}

const program = new Command('kube-lbc')
  .description('A cloud controller manager for Kubernetes Services of type LoadBalancer')
  .version(version)
  .showHelpAfterError()
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

// Each command loads its application on demand: `--help` and `run` never load the API emulator,
// and no provider is loaded before the flags are read.
// Unknown options are collected, not fatal, so they are reported with every other bad input.
addControllerFlags(
  program
    .command('run')
    .description('run the service controller against a cluster')
    .allowUnknownOption()
    .allowExcessArguments(),
).action(async (_opts: unknown, cmd: Command) => {
  try {
    const { runControllerManager } = await import('../app/run.js');
    await runControllerManager(flagValues(cmd), version, cmd.args);
  } catch (err) {
    fail(err);
  }
});

program
  .command('plan')
  .description(
    'print the cloud changes a sync would make now, per Service, and the orphans; makes no write (exit 0: none, 2: pending, 1: error)',
  )
  .option(
    '--kubeconfig <path>',
    'kubeconfig file (default: in-cluster config, then $KUBECONFIG, then ~/.kube/config)',
  )
  .option(
    '--cloud-provider <name>',
    'built-in provider (aws, local, fake) or a plugin module specifier',
  )
  .option('--cloud-config <path>', 'provider configuration file, YAML or JSON')
  .option('--cluster-name <name>', 'the cluster name the controller runs with', 'kubernetes')
  .option(
    '--load-balancer-class <class>',
    'a spec.loadBalancerClass the controller claims (repeatable)',
    (v: string, p: string[] = []) => [...p, v],
  )
  .option(
    '--handle-unclassed <bool>',
    'the controller also acts on Services without a class',
    'true',
  )
  .option('-o, --output <format>', 'text or json', 'text')
  .action(
    async (opts: {
      kubeconfig?: string;
      cloudProvider?: string;
      cloudConfig?: string;
      clusterName: string;
      loadBalancerClass?: string[];
      handleUnclassed: string;
      output: string;
    }) => {
      try {
        const errors = [
          ...(opts.cloudProvider ? [] : ['--cloud-provider: required']),
          ...(['text', 'json'].includes(opts.output)
            ? []
            : [`--output: expected text or json, got "${opts.output}"`]),
          ...(['true', 'false'].includes(opts.handleUnclassed)
            ? []
            : [`--handle-unclassed: expected true or false, got "${opts.handleUnclassed}"`]),
        ];
        if (errors.length) throw new ConfigError(errors);
        const { runPlan } = await import('../app/plan.js');
        process.exitCode = await runPlan({
          ...(opts.kubeconfig && { kubeconfig: opts.kubeconfig }),
          cloudProvider: opts.cloudProvider!,
          ...(opts.cloudConfig && { cloudConfig: opts.cloudConfig }),
          clusterName: opts.clusterName,
          classes: {
            loadBalancerClasses: opts.loadBalancerClass ?? [],
            handleUnclassed: opts.handleUnclassed === 'true',
          },
          output: opts.output as 'text' | 'json',
        });
      } catch (err) {
        // Exit 2 means "changes pending" here: every error, a bad flag too, is 1.
        const messages = err instanceof ConfigError ? err.errors : [errorMessage(err)];
        for (const m of messages) process.stderr.write(`kube-lbc plan: ${m}\n`);
        process.exit(1);
      }
    },
  );

program
  .command('release')
  .argument('<service>', 'the Service, as <namespace>/<name>')
  .description(
    "hand a Service's load balancer back without deleting it: sets kube-lbc.io/release and waits until the finalizer is gone (exit 0: released or already released; 1: not managed by kube-lbc, not found, deleted, refused or timed out)",
  )
  .option(
    '--kubeconfig <path>',
    'kubeconfig file (default: in-cluster config, then $KUBECONFIG, then ~/.kube/config)',
  )
  .option('--timeout <duration>', 'how long to wait for the controller', '60s')
  .action(async (service: string, opts: { kubeconfig?: string; timeout: string }) => {
    try {
      const { parseDuration } = await import('../app/options/duration.js');
      const timeoutMs = parseDuration(opts.timeout);
      if (!Number.isFinite(timeoutMs))
        throw new ConfigError([
          `--timeout: expected a duration such as 60s, got ${quote(opts.timeout)}`,
        ]);
      const { runRelease } = await import('../app/release.js');
      process.exitCode = await runRelease({
        ...(opts.kubeconfig && { kubeconfig: opts.kubeconfig }),
        service,
        timeoutMs,
      });
    } catch (err) {
      const messages = err instanceof ConfigError ? err.errors : [errorMessage(err)];
      for (const m of messages) process.stderr.write(`kube-lbc release: ${m}\n`);
      process.exit(1);
    }
  });

program
  .command('sandbox')
  .description(
    'run the whole thing with no cluster: an embedded API server, the controller, the local load balancer and a sample Service',
  )
  .option(
    '--cloud-provider <name>',
    'provider to demo: local, fake, aws (AWS_ENDPOINT_URL, or moto_server started here) or a plugin',
    'local',
  )
  .option(
    '--port <n>',
    'port of the embedded API server (0 picks one; a taken port falls back to a free one)',
    '6443',
  )
  .option(
    '--address-pool <cidr>',
    "the local provider's address pool (default: a free 127.240.N.0/25)",
  )
  .option('--log-level <level>', 'debug, info, warn or error', 'warn')
  .option(
    '--kubeconfig-out <path>',
    'where to write a kubeconfig for kubectl',
    './sandbox.kubeconfig',
  )
  .option('--no-sample', 'do not create the sample Service and demo backends')
  .option('--exit-after-demo', 'stop once the sample Service has been shown to carry traffic')
  .action(
    async (opts: {
      cloudProvider: string;
      port: string;
      kubeconfigOut: string;
      sample: boolean;
      exitAfterDemo?: boolean;
      addressPool?: string;
      logLevel: string;
    }) => {
      try {
        const port = Number(opts.port);
        if (!/^\d+$/.test(opts.port) || port > 65535)
          throw new ConfigError([
            `--port: expected a port from 0 to 65535, got ${quote(opts.port)}`,
          ]);
        const { runSandbox } = await import('../sandbox/sandbox.js');
        const code = await runSandbox({
          provider: opts.cloudProvider,
          port,
          kubeconfigPath: opts.kubeconfigOut,
          sample: opts.sample,
          exitAfterDemo: opts.exitAfterDemo ?? false,
          version,
          logLevel: opts.logLevel,
          addressPool: opts.addressPool,
        });
        if (code !== undefined) process.exit(code);
      } catch (err) {
        fail(err);
      }
    },
  );

program
  .command('proxy')
  .description("the local provider's edge agent: serve the pool's addresses on this node")
  .option(
    '--kubeconfig <path>',
    'kubeconfig file (default: in-cluster config, then $KUBECONFIG, then ~/.kube/config)',
  )
  .option('--cloud-config <path>', "the local provider's configuration (the controller's file)")
  .option(
    '--health-probe-bind-address <addr>',
    'where /healthz and /readyz are served (0 disables)',
    '127.0.0.1:8081',
  )
  .option(
    '--metrics-bind-address <addr>',
    "where /metrics (the data path's connections, bytes, backend health) is served (0, the default, disables)",
    '0',
  )
  .option('--log-level <level>', 'debug, info, warn or error', 'info')
  .option('--log-format <format>', 'json or text', 'json')
  .action(
    async (opts: {
      kubeconfig?: string;
      cloudConfig?: string;
      healthProbeBindAddress: string;
      metricsBindAddress: string;
      logLevel: string;
      logFormat: string;
    }) => {
      try {
        const { runProxy } = await import('../app/proxy.js');
        await runProxy(opts, version);
      } catch (err) {
        fail(err, '--cloud-config');
      }
    },
  );

await program.parseAsync(process.argv);
