import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterAccess, Credentials } from '../../../runtime/cluster-access.js';
import { staticAccess } from '../../../runtime/cluster-access.js';
import { fileAccess, inCluster, inClusterAccess } from '../../../runtime/kubeconfig.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function kubeconfig(cluster: object, user: object, extra = ''): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    `clusters: [{name: c, cluster: ${JSON.stringify(cluster)}}]`,
    'contexts: [{name: ctx, context: {cluster: c, user: u}}]',
    `users: [{name: u, user: ${JSON.stringify(user)}}]`,
    'current-context: ctx',
    extra,
  ].join('\n');
}

async function creds(access: ClusterAccess): Promise<Credentials> {
  return access.credentials();
}

describe('reading a kubeconfig without client-node', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'kube-lbc-kc-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  it('reads a token, inline certificates and the CA, and keeps one TLS identity', async () => {
    const path = write(
      'config',
      kubeconfig(
        {
          server: 'https://10.0.0.1:6443/',
          'certificate-authority-data': b64('CA'),
          'tls-server-name': 'api.internal',
        },
        { token: 'abc', 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') },
      ),
    );
    const access = fileAccess([path]);
    assert.equal(access.server, 'https://10.0.0.1:6443');
    const first = await creds(access);
    assert.deepEqual(first.headers, { authorization: 'Bearer abc' });
    assert.equal(first.tls.options.ca?.toString(), 'CA');
    assert.equal(first.tls.options.cert?.toString(), 'CERT');
    assert.equal(first.tls.options.key?.toString(), 'KEY');
    assert.equal(first.tls.options.servername, 'api.internal');
    assert.equal(first.tls.options.rejectUnauthorized, undefined);
    // The same identity each time: the connection is reused.
    assert.equal((await creds(access)).tls, first.tls);
  });

  it('reads certificate files relative to the kubeconfig, and insecure-skip-tls-verify', async () => {
    write('ca.pem', 'CA FILE');
    write('client.pem', 'CERT FILE');
    write('client.key', 'KEY FILE');
    const path = write(
      'config',
      kubeconfig(
        {
          server: 'https://h:1',
          'certificate-authority': 'ca.pem',
          'insecure-skip-tls-verify': true,
        },
        { 'client-certificate': 'client.pem', 'client-key': join(dir, 'client.key') },
      ),
    );
    const { tls, headers } = await creds(fileAccess([path]));
    assert.equal(tls.options.ca?.toString(), 'CA FILE');
    assert.equal(tls.options.cert?.toString(), 'CERT FILE');
    assert.equal(tls.options.key?.toString(), 'KEY FILE');
    assert.equal(tls.options.rejectUnauthorized, false);
    assert.deepEqual(headers, {});
  });

  it('re-reads a token file each minute, as client-go does a projected token', async () => {
    const token = write('token', 'one\n');
    let now = 0;
    const access = staticAccess({ server: 'https://h:1' }, { tokenFile: token }, () => now);
    assert.equal((await creds(access)).headers.authorization, 'Bearer one');
    writeFileSync(token, 'two');
    now = 59_000;
    assert.equal((await creds(access)).headers.authorization, 'Bearer one');
    now = 60_000;
    assert.equal((await creds(access)).headers.authorization, 'Bearer two');
  });

  it('merges several files as client-go does: the first current-context and first name win', async () => {
    const first = write('a', kubeconfig({ server: 'https://first:1' }, { token: 'first' }));
    const second = write(
      'b',
      [
        'clusters: [{name: c, cluster: {server: "https://second:1"}}, {name: d, cluster: {server: "https://d:1"}}]',
        'users: [{name: u, user: {token: second}}]',
        'current-context: other',
      ].join('\n'),
    );
    const access = fileAccess([first, second]);
    assert.equal(access.server, 'https://first:1');
    assert.equal((await creds(access)).headers.authorization, 'Bearer first');
  });

  it('sends basic credentials when the user has a username', async () => {
    const path = write(
      'config',
      kubeconfig({ server: 'http://h:1' }, { username: 'me', password: 'pw' }),
    );
    assert.equal((await creds(fileAccess([path]))).headers.authorization, `Basic ${b64('me:pw')}`);
  });

  it('runs an exec plugin through client-node, loaded only for it', async () => {
    const plugin = write(
      'plugin.sh',
      `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-exec"}}'\n`,
    );
    chmodSync(plugin, 0o755);
    const path = write(
      'config',
      kubeconfig(
        { server: 'https://h:1' },
        {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1',
            command: plugin,
            interactiveMode: 'Never',
          },
        },
      ),
    );
    const access = fileAccess([path]);
    assert.equal(access.server, 'https://h:1');
    assert.equal((await creds(access)).headers.authorization, 'Bearer from-exec');
  });

  const refused: { desc: string; text: string; message: RegExp }[] = [
    { desc: 'no current-context', text: 'clusters: []\n', message: /no current-context/ },
    {
      desc: 'a context naming no cluster',
      text: 'contexts: [{name: x, context: {cluster: nope}}]\ncurrent-context: x\n',
      message: /names no cluster/,
    },
    {
      desc: 'a cluster without a server',
      text: kubeconfig({}, {}),
      message: /has no server/,
    },
    {
      desc: 'a proxy-url',
      text: kubeconfig({ server: 'https://h:1', 'proxy-url': 'http://p:3128' }, {}),
      message: /cluster\.proxy-url/,
    },
    {
      desc: 'a token that is not a string',
      text: kubeconfig({ server: 'https://h:1' }, { token: 12 }),
      message: /user\.token: expected a string/,
    },
    {
      desc: 'a missing CA file',
      text: kubeconfig({ server: 'https://h:1', 'certificate-authority': 'gone.pem' }, {}),
      message: /certificate-authority: cannot read it \(ENOENT\)/,
    },
    {
      desc: 'broken YAML',
      text: 'users:\n- name: u\n  user:\n    token: SECRET\n   bad: [\n',
      message: /not valid YAML: line \d+, column \d+/,
    },
  ];
  for (const row of refused)
    it(`refuses ${row.desc}, naming the field and quoting nothing`, () => {
      const path = write('config', row.text);
      assert.throws(
        () => fileAccess([path]),
        (err: Error) => row.message.test(err.message) && !err.message.includes('SECRET'),
      );
    });

  it('reads the in-cluster service account: the service address, its CA and token', async () => {
    write('token', 'sa-token');
    write('ca.crt', 'SA CA');
    const env = { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' };
    assert.ok(inCluster(env, dir));
    assert.ok(!inCluster({}, dir));
    const access = inClusterAccess(env, dir);
    assert.equal(access.server, 'https://[fd00::1]:443');
    const { headers, tls } = await creds(access);
    assert.deepEqual(headers, { authorization: 'Bearer sa-token' });
    assert.equal(tls.options.ca?.toString(), 'SA CA');
  });
});
