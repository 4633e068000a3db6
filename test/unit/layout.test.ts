import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

/**
 * The layout the README promises, held against the code's own imports: which folder may import
 * which, no import circle among product files, and a command line that loads neither the API
 * emulator nor a provider before a subcommand asks for it.
 */
const root = normalize(join(dirname(new URL(import.meta.url).pathname), '../..'));
const PRODUCT = [
  'contract',
  'runtime',
  'controllers',
  'providers',
  'app',
  'sandbox',
  'cmd',
] as const;
type Folder = (typeof PRODUCT)[number];

const MAY_IMPORT: Record<Folder, readonly Folder[]> = {
  contract: [],
  runtime: ['contract'],
  controllers: ['contract', 'runtime'],
  providers: ['contract', 'runtime'],
  app: ['contract', 'runtime', 'controllers', 'providers'],
  sandbox: ['contract', 'runtime', 'controllers', 'providers', 'app'],
  cmd: ['contract', 'app', 'sandbox', 'providers', 'runtime'],
};

interface Import {
  readonly target: string;
  /** `import type` and `import()`: neither loads the module when the importer loads. */
  readonly atLoad: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s+(type\s+)?(?:[^'"]*?from\s+)?'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g;

function importsOf(file: string): Import[] {
  const text = readFileSync(join(root, file), 'utf8');
  const found: Import[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[2] ?? m[3]!;
    const target = normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts');
    found.push({ target, atLoad: m[2] !== undefined && m[1] === undefined });
  }
  return found;
}

const files = PRODUCT.flatMap((f) => sourceFiles(f));
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const folderOf = (file: string) => file.split('/')[0] as Folder;

describe('the layout', () => {
  for (const folder of PRODUCT) {
    it(`${folder}/ imports only ${MAY_IMPORT[folder].map((f) => `${f}/`).join(', ') || 'itself'}`, () => {
      const wrong = [...graph]
        .filter(([file]) => folderOf(file) === folder)
        .flatMap(([file, imports]) =>
          imports
            .filter(
              (i) =>
                folderOf(i.target) !== folder && !MAY_IMPORT[folder].includes(folderOf(i.target)),
            )
            .map((i) => `${file} -> ${i.target}`),
        );
      assert.deepEqual(wrong, []);
    });
  }

  it('has no import circle among product files', () => {
    const state = new Map<string, 'open' | 'done'>();
    const circles: string[] = [];
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        circles.push([...path.slice(path.indexOf(file)), file].join(' -> '));
        return;
      }
      state.set(file, 'open');
      for (const i of graph.get(file) ?? [])
        if (graph.has(i.target)) visit(i.target, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    assert.deepEqual(circles, []);
  });

  it('loads neither the API emulator nor a provider when the command line starts', () => {
    const loaded = new Set<string>();
    const load = (file: string) => {
      if (loaded.has(file)) return;
      loaded.add(file);
      for (const i of graph.get(file) ?? []) if (i.atLoad) load(i.target);
    };
    load('cmd/kube-lbc.ts');
    const heavy = [...loaded].filter((f) => f.startsWith('sandbox/') || f.startsWith('providers/'));
    assert.deepEqual(heavy, []);
    assert.ok(
      loaded.size > 2,
      `the walk found the command's own imports (${[...loaded].map((f) => relative(root, join(root, f)))})`,
    );
  });
});
