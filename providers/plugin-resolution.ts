/**
 * Where a plugin's module specifier points, as a user expects: a path is relative to the working
 * directory, and a directory is a package (its package.json's `exports`, else `main`, else
 * index.js); a package name is looked up in the node_modules folders above the working directory
 * first (the project the user runs kube-lbc from), then, as a plain `import()`, beside kube-lbc's
 * own install (a global install, or the image).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isProviderPath } from '../contract/provider-specifier.js';

/** What to `import()` for `name`, resolved from `cwd`; a bare name when nothing under `cwd` has it. */
export function pluginImportSpecifier(name: string, cwd = process.cwd()): string {
  if (isProviderPath(name)) {
    const path = resolve(cwd, name);
    return pathToFileURL(isDirectory(path) ? packageEntry(path, '.') : path).href;
  }
  const parts = name.split('/');
  const pkg = name.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
  const subpath =
    parts.length > pkg.split('/').length
      ? `./${parts.slice(pkg.split('/').length).join('/')}`
      : '.';
  for (let dir = cwd; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', pkg);
    if (existsSync(join(candidate, 'package.json')))
      return pathToFileURL(packageEntry(candidate, subpath)).href;
    if (ownName(dir) === pkg) return pathToFileURL(packageEntry(dir, subpath)).href;
    if (dirname(dir) === dir) return name;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function readPackage(dir: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function ownName(dir: string): unknown {
  return readPackage(dir)?.name;
}

/** The file `subpath` of the package in `dir` maps to, with the `import` conditions. */
function packageEntry(dir: string, subpath: string): string {
  const pkg = readPackage(dir) ?? {};
  const exported = exportTarget(pkg.exports, subpath);
  if (exported) return join(dir, exported);
  if (subpath !== '.') return join(dir, subpath);
  if (typeof pkg.main === 'string') return join(dir, pkg.main);
  return join(dir, 'index.js');
}

function exportTarget(exports: unknown, subpath: string): string | undefined {
  if (exports === undefined || exports === null) return undefined;
  const isSubpathMap =
    typeof exports === 'object' &&
    !Array.isArray(exports) &&
    Object.keys(exports).some((k) => k.startsWith('.'));
  const target = isSubpathMap
    ? (exports as Record<string, unknown>)[subpath]
    : subpath === '.'
      ? exports
      : undefined;
  return pickCondition(target);
}

function pickCondition(target: unknown): string | undefined {
  if (typeof target === 'string') return target;
  if (Array.isArray(target)) return target.map(pickCondition).find((t) => t !== undefined);
  if (target && typeof target === 'object') {
    for (const [condition, value] of Object.entries(target)) {
      if (condition === 'import' || condition === 'node' || condition === 'default') {
        const picked = pickCondition(value);
        if (picked) return picked;
      }
    }
  }
  return undefined;
}
