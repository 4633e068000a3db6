/**
 * Where provider names become factories, like k8s.io/cloud-provider's plugins.go.
 * Built-ins are loaded by dynamic `import()` so the GCP SDK is never loaded for AWS; any other
 * name is imported as a module specifier (a package name, or a path) whose default export or
 * `createProvider` export is a `ProviderFactory`.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  errorMessage,
  ProviderConfigError,
  ProviderStartError,
  UnknownProviderError,
} from '../contract/errors.js';
import type {
  LoadBalancerProvider,
  ProviderFactory,
  ProviderOptions,
} from '../contract/provider.js';
import { isProviderPath, providerSpecifierError } from '../contract/provider-specifier.js';
import { quote } from '../contract/quote.js';
import { guardProvider, notAProvider } from './guard.js';
import { pluginImportSpecifier } from './plugin-resolution.js';

type FactoryLoader = () => Promise<ProviderFactory>;

const builtins: Readonly<Record<string, FactoryLoader>> = {
  fake: async () => factoryOf(await import('./fake/index.js'), 'fake'),
  local: async () => factoryOf(await import('./local/index.js'), 'local'),
  aws: async () => factoryOf(await import('./aws/index.js'), 'aws'),
  gcp: async () => factoryOf(await import('./gcp/index.js'), 'gcp'),
};

const registered = new Map<string, ProviderFactory>();

/** The built-ins' cloud-config parsers, loaded alone: no SDK is loaded to check a file. */
const builtinConfigs: Readonly<
  Record<string, () => Promise<(raw: Readonly<Record<string, unknown>>) => unknown>>
> = {
  fake: async () => (await import('./fake/config.js')).parseFakeConfig,
  local: async () => (await import('./local/config.js')).parseLocalConfig,
  aws: async () => (await import('./aws/config.js')).parseAwsConfig,
  gcp: async () => (await import('./gcp/config.js')).parseGcpConfig,
};

/**
 * A built-in provider's objection to `raw` (its first bad key), checked without starting the
 * provider, so it can be reported with the flags before anything binds; undefined when the
 * provider is a plugin (its factory checks its own file) or the file is fine.
 */
export async function checkBuiltinConfig(
  name: string,
  raw: Readonly<Record<string, unknown>>,
): Promise<string | undefined> {
  const load = registered.has(name) ? undefined : builtinConfigs[name];
  if (!load) return undefined;
  try {
    (await load())(raw);
    return undefined;
  } catch (err) {
    if (err instanceof Error && err.name === ProviderConfigError.name) return err.message;
    throw err;
  }
}

/** Registers a provider under `name`; a second registration of a name is refused. */
export function registerProvider(name: string, factory: ProviderFactory): void {
  if (registered.has(name) || name in builtins) {
    throw new Error(`provider ${quote(name)} is already registered`);
  }
  registered.set(name, factory);
}

/** How long a factory may take to give its provider. @default 60 s */
export const START_DEADLINE_MS = 60_000;

/**
 * Creates the provider called `name`. Throws `UnknownProviderError` when nothing answers to the
 * name, `ProviderConfigError` for a bad cloud-config, and `ProviderStartError` when the factory
 * failed otherwise: it threw, gave something that is not a provider, or had not answered by the
 * start-up deadline. What the provider answers later is checked too (`guardProvider`).
 */
export async function createProvider(
  name: string,
  options: ProviderOptions,
  { startDeadlineMs = START_DEADLINE_MS }: { startDeadlineMs?: number } = {},
): Promise<LoadBalancerProvider> {
  const factory = await findFactory(name);
  let provider: unknown;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(`its factory had not returned a provider after ${startDeadlineMs / 1000} s`),
        ),
      startDeadlineMs,
    );
  });
  try {
    provider = await Promise.race([factory(options), deadline]);
  } catch (err) {
    // By name, not instanceof: a plugin may import its own copy of errors.js.
    if (err instanceof Error && err.name === ProviderConfigError.name) throw err;
    throw new ProviderStartError(name, { cause: err });
  } finally {
    clearTimeout(timer);
  }
  const wrong = notAProvider(provider);
  if (wrong) throw new ProviderStartError(name, { cause: new Error(wrong) });
  return guardProvider(name, provider as LoadBalancerProvider);
}

async function findFactory(name: string): Promise<ProviderFactory> {
  const known = registered.get(name);
  if (known) return known;
  const builtin = builtins[name];
  if (builtin) return builtin();
  const refused = providerSpecifierError(name);
  if (refused) throw new UnknownProviderError(name, { cause: new Error(refused) });
  let mod: Record<string, unknown>;
  try {
    mod = (await import(moduleSpecifier(name))) as Record<string, unknown>;
  } catch (err) {
    // A plugin that is there but throws, or misses a dependency of its own, failed to start.
    if (isMissing(name, err)) throw new UnknownProviderError(name, { cause: err });
    throw new ProviderStartError(name, { cause: err });
  }
  return factoryOf(mod, name);
}

/** Whether importing `name` failed because `name` itself is not there. */
function isMissing(name: string, err: unknown): boolean {
  if (isProviderPath(name)) return !existsSync(resolve(name));
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  const parts = name.split('/');
  const pkg = name.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return errorMessage(err).includes(`'${pkg}'`) || errorMessage(err).includes(`'${name}'`);
}

/** Paths and package names are resolved from the working directory first (plugin-resolution.ts). */
function moduleSpecifier(name: string): string {
  return pluginImportSpecifier(name);
}

function factoryOf(mod: Record<string, unknown>, name: string): ProviderFactory {
  const candidates = [
    mod.default,
    mod.createProvider,
    ...Object.entries(mod)
      .filter(([k]) => /^create\w+Provider$/.test(k))
      .map(([, v]) => v),
  ];
  const factory = candidates.find((c) => typeof c === 'function');
  if (!factory) {
    throw new UnknownProviderError(name, {
      cause: new Error(
        'the module exports no provider factory (a default export or `createProvider`)',
      ),
    });
  }
  return factory as ProviderFactory;
}
