import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../app/options/config.js';
import { loadCloudConfig, loadClusterAccess } from '../../../app/inputs.js';
import { loadKubeConfig } from '../../../app/kubeconfig-client.js';

const dir = mkdtempSync(join(tmpdir(), 'kube-lbc-inputs-'));
const SECRET = 'AKIAS3CR3TVALUE';

function errorsOf(load: () => unknown): string {
  try {
    load();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.errors.join('\n');
  }
  assert.fail('loaded');
}

describe('reading the files the flags name', () => {
  const malformed = [
    { desc: 'an unclosed quote', text: `region: eu-west-1\nsecretAccessKey: "${SECRET}\n` },
    { desc: 'a bad indent', text: `region: eu-west-1\n  token: ${SECRET}\n bad: [\n` },
    { desc: 'a duplicate key', text: `token: ${SECRET}\ntoken: ${SECRET}\n` },
    { desc: 'broken JSON', text: `{"token": "${SECRET}", ` },
  ];
  for (const c of malformed) {
    it(`names the line and column of ${c.desc} in a cloud-config, never its content`, () => {
      const path = join(dir, `cloud-${c.desc.replace(/\W/g, '-')}.yaml`);
      writeFileSync(path, c.text);
      const message = errorsOf(() => loadCloudConfig(path));
      assert.match(
        message,
        /^--cloud-config: ".*" is not valid YAML or JSON: line \d+, column \d+ \([A-Z_]+\)$/,
      );
      assert.ok(!message.includes(SECRET), message);
    });
  }

  for (const [name, load, position] of [
    ['kube-lbc run', loadClusterAccess, /line 6, column \d+ \([A-Z_]+\)$/],
    ['the generated client', loadKubeConfig, /at line 6, column 4$/],
  ] as const) {
    it(`names the line and column of a malformed kubeconfig, never its content (${name})`, () => {
      const path = join(dir, 'kubeconfig');
      writeFileSync(
        path,
        `apiVersion: v1\nusers:\n- name: u\n  user:\n    token: ${SECRET}\n   bad: [\n`,
      );
      const message = errorsOf(() => load(path));
      assert.match(message, /^--kubeconfig: cannot load a kubeconfig from ".*": /);
      assert.match(message, position);
      assert.ok(!message.includes(SECRET), message);
    });
  }
});
