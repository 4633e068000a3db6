/**
 * Where provider names become factories, like k8s.io/cloud-provider's plugins.go.
 * Built-ins are loaded by dynamic `import()` so the GCP SDK is never loaded for AWS; any other
 * name is imported as a module specifier (a package name, or a path) whose default export or
 * `createProvider` export is a `ProviderFactory`.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { errorMessage, ProviderConfigError, ProviderStartError, UnknownProviderError } from './errors.js';
import type { LoadBalancerProvider, ProviderFactory, ProviderOptions } from './provider.js';

type FactoryLoader = () => Promise<ProviderFactory>;

const builtins: Readonly<Record<string, FactoryLoader>> = {
  fake: async () => factoryOf(await import('./fake/index.js'), 'fake'),
  local: async () => factoryOf(await import('./local/index.js'), 'local'),
  aws: async () => factoryOf(await import('./aws/index.js'), 'aws'),
  gcp: async () => factoryOf(await import('./gcp/index.js'), 'gcp'),
};

const registered = new Map<string, ProviderFactory>();

/** Registers a provider under `name`; a second registration of a name is refused. */
export function registerProvider(name: string, factory: ProviderFactory): void {
  if (registered.has(name) || name in builtins) {
    throw new Error(`provider "${name}" is already registered`);
  }
  registered.set(name, factory);
}

export function builtinProviderNames(): string[] {
  return Object.keys(builtins);
}

/**
 * Creates the provider called `name`. Throws `UnknownProviderError` when nothing answers to the
 * name, `ProviderConfigError` for a bad cloud-config, and `ProviderStartError` when the factory
 * failed otherwise.
 */
export async function createProvider(name: string, options: ProviderOptions): Promise<LoadBalancerProvider> {
  const factory = await findFactory(name);
  try {
    return await factory(options);
  } catch (err) {
    // By name, not instanceof: a plugin may import its own copy of errors.js.
    if (err instanceof Error && err.name === ProviderConfigError.name) throw err;
    throw new ProviderStartError(name, { cause: err });
  }
}

async function findFactory(name: string): Promise<ProviderFactory> {
  const known = registered.get(name);
  if (known) return known;
  const builtin = builtins[name];
  if (builtin) return builtin();
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
  if (isPath(name)) return !existsSync(resolve(name));
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  const parts = name.split('/');
  const pkg = name.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return errorMessage(err).includes(`'${pkg}'`) || errorMessage(err).includes(`'${name}'`);
}

function isPath(name: string): boolean {
  return name.startsWith('.') || isAbsolute(name);
}

/** Paths are resolved against the working directory; anything else is a package name. */
function moduleSpecifier(name: string): string {
  if (isPath(name)) return pathToFileURL(resolve(name)).href;
  return name;
}

function factoryOf(mod: Record<string, unknown>, name: string): ProviderFactory {
  const candidates = [mod.default, mod.createProvider, ...Object.entries(mod).filter(([k]) => /^create\w+Provider$/.test(k)).map(([, v]) => v)];
  const factory = candidates.find((c) => typeof c === 'function');
  if (!factory) {
    throw new UnknownProviderError(name, {
      cause: new Error('the module exports no provider factory (a default export or `createProvider`)'),
    });
  }
  return factory as ProviderFactory;
}
