/** Renders the deploy kit the way an operator would, for the deploy tests. */
import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

const run = promisify(execFile);

/** A rendered object; deep fields are reached without ceremony in tests. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Manifest = {
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
} & Record<string, any>;

let kubectl: Promise<boolean> | undefined;
/** kubectl (with its built-in kustomize) is on these machines; elsewhere the tests say so and skip. */
export function hasKubectl(): Promise<boolean> {
  kubectl ??= run('kubectl', ['version', '--client']).then(
    () => true,
    () => false,
  );
  return kubectl;
}

const rendered = new Map<string, Promise<Manifest[]>>();
/** `kubectl kustomize dir`, parsed; each directory is rendered once per run. */
export function kustomize(dir: string): Promise<Manifest[]> {
  let docs = rendered.get(dir);
  if (!docs) {
    docs = run('kubectl', ['kustomize', dir], { maxBuffer: 8 << 20 }).then(({ stdout }) =>
      parseManifests(stdout),
    );
    rendered.set(dir, docs);
  }
  return docs;
}

export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw doc.errors[0];
      return doc.toJS() as Manifest;
    })
    .filter(Boolean);
}

/** Every .yaml/.yml file under `dir`. */
export function manifestFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return manifestFiles(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}
