/**
 * The image's Dockerfile against the tree: it builds on a supported Node LTS line, and it copies
 * every source folder its build compiles (the package build's folders, which the command loads).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const root = new URL('../../../', import.meta.url);
const dockerfile = readFileSync(new URL('deploy/Dockerfile', root), 'utf8');
const includes = (path: string) =>
  (JSON.parse(readFileSync(new URL(path, root), 'utf8')) as { include: string[] }).include.map(
    (p) => p.replace(/^\.\.\//, ''),
  );

describe('deploy/Dockerfile', () => {
  it('builds and runs on Node 22 or 24, the LTS lines', () => {
    const bases = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]!);
    assert.ok(bases.length >= 2);
    for (const base of bases) {
      assert.match(base, /^(node:(22|24)-|gcr\.io\/distroless\/nodejs(22|24)-)/, base);
    }
  });

  it("copies every folder the image's build compiles, and compiles what the package build does", () => {
    const image = includes('deploy/tsconfig.build.json');
    assert.deepEqual([...image].sort(), [...includes('tsconfig.build.json')].sort());
    const copied = new Set([...dockerfile.matchAll(/^COPY (\S+) \1$/gm)].map((m) => m[1]));
    for (const folder of image) assert.ok(copied.has(folder), `COPY ${folder} ${folder}`);
  });
});
