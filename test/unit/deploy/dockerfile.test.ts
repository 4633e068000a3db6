/**
 * The image's Dockerfile against the tree: it builds on a supported Node LTS line, it copies
 * every source folder its build compiles (the package build's folders, which the command loads),
 * and the native relay it compiles lands where the loader looks, in a runtime without the
 * toolchain.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { addonPaths } from '../../../providers/local/native-relay.js';

const root = new URL('../../../', import.meta.url);
const dockerfile = readFileSync(new URL('deploy/Dockerfile', root), 'utf8');
const includes = (path: string) =>
  (JSON.parse(readFileSync(new URL(path, root), 'utf8')) as { include: string[] }).include.map(
    (p) => p.replace(/^\.\.\//, ''),
  );

/** Each stage's base and its lines, in order; the last is the image. */
const stages = dockerfile
  .split(/^(?=FROM )/m)
  .slice(1)
  .map((text) => ({ base: /^FROM (\S+)/.exec(text)![1]!, text }));
const image = stages.at(-1)!;
const build = stages.find((s) => / AS build$/m.test(s.text.split('\n')[0]!))!;
/** Debian 13 in either naming: node's `-trixie-`, distroless's `-debian13`. */
const debianOf = (base: string) =>
  /-(trixie|debian13)\b/.test(base) ? 13 : /-(bookworm|debian12)\b/.test(base) ? 12 : undefined;

describe('deploy/Dockerfile', () => {
  it('builds and runs on Node 22 or 24, the LTS lines', () => {
    assert.ok(stages.length >= 2);
    for (const { base } of stages) {
      assert.match(base, /^(node:(22|24)-|gcr\.io\/distroless\/nodejs(22|24)-)/, base);
    }
  });

  it('builds every stage on one Node line and one Debian release, so the native relay links against the glibc it runs on', () => {
    const lines = new Set(stages.map((s) => /(?:node:|nodejs)(\d+)/.exec(s.base)![1]));
    assert.equal(lines.size, 1, [...lines].join(', '));
    const releases = new Set(stages.map((s) => debianOf(s.base)));
    assert.equal(releases.size, 1, stages.map((s) => s.base).join(', '));
    assert.notEqual([...releases][0], undefined, 'a base that names its Debian release');
  });

  it("copies every folder the image's build compiles, and compiles what the package build does", () => {
    const compiled = includes('deploy/tsconfig.build.json');
    assert.deepEqual([...compiled].sort(), [...includes('tsconfig.build.json')].sort());
    const copied = new Set([...dockerfile.matchAll(/^COPY (\S+) \1$/gm)].map((m) => m[1]));
    for (const folder of compiled) assert.ok(copied.has(folder), `COPY ${folder} ${folder}`);
  });

  it('compiles the native relay with a toolchain, and fails where the relay was not built', () => {
    assert.match(build.text, /apt-get install .*\bpython3\b.*\bmake\b.*\bg\+\+/);
    assert.match(build.text, /^COPY native\/splice-relay native\/splice-relay$/m);
    assert.match(
      build.text,
      /^RUN npm run build:native && test -f native\/splice-relay\/build\/Release\/splice_relay\.node$/m,
    );
  });

  it('runs as non-root with the native relay where the loader looks from dist/, and no toolchain', () => {
    assert.match(image.base, /^gcr\.io\/distroless\//);
    assert.doesNotMatch(image.text, /^RUN /m);
    const workdir = /^WORKDIR (\S+)$/m.exec(image.text)![1]!;
    const [, from, to] = /^COPY --from=build (\S+splice_relay\.node) (\S+)$/m.exec(image.text)!;
    assert.equal(from, '/src/native/splice-relay/build/Release/splice_relay.node');
    const installed = new URL(to!, `file://${workdir}/`).href;
    const loader = `file://${workdir}/dist/providers/local/native-relay.js`;
    assert.ok(
      addonPaths.some((p) => new URL(p, loader).href === installed),
      `${installed} is not among ${addonPaths.join(', ')} from ${loader}`,
    );
    const [, user] = /^USER (\S+)$/m.exec(image.text)!;
    assert.doesNotMatch(user!, /^(0|root)(:|$)/);
  });
});
