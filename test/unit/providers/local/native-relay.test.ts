/**
 * Where the native relay cannot be had, the loader says why instead of throwing, so the data path
 * relays in JavaScript (test/integration/local/tcp-forwarding.test.ts runs that fallback).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNativeRelay } from '../../../../providers/local/native-relay.js';

describe('loading the native relay', () => {
  const dir = mkdtempSync(join(tmpdir(), 'native-relay-'));
  const notAnAddon = join(dir, 'splice_relay.node');
  writeFileSync(notAnAddon, 'not a shared object');
  after(() => rmSync(dir, { recursive: true, force: true }));

  const cases: {
    desc: string;
    paths: string[];
    platform?: NodeJS.Platform;
    env?: NodeJS.ProcessEnv;
    problem: RegExp;
  }[] = [
    {
      desc: 'says it is not built where no path holds the .node file',
      paths: [join(dir, 'absent.node'), join(dir, 'build/Release/absent.node')],
      problem: /^not built \(make native\)$/,
    },
    {
      desc: 'says why a file that is not an addon failed to load',
      paths: [join(dir, 'absent.node'), notAnAddon],
      problem: /^failed to load: /,
    },
    {
      desc: 'loads nothing with KUBE_LBC_SKIP_NATIVE=1, not even a build that exists',
      paths: [notAnAddon],
      env: { KUBE_LBC_SKIP_NATIVE: '1' },
      problem: /^skipped \(KUBE_LBC_SKIP_NATIVE=1\)$/,
    },
    {
      desc: 'loads nothing off Linux',
      paths: [notAnAddon],
      platform: 'darwin',
      problem: /^not on Linux \(darwin\)$/,
    },
  ];
  for (const c of cases) {
    it(c.desc, () => {
      const loaded = loadNativeRelay(c.paths, c.platform ?? 'linux', c.env ?? {});
      assert.equal(loaded.addon, undefined);
      assert.match(loaded.problem ?? '', c.problem);
    });
  }
});
