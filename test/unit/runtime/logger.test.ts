import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../../runtime/logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { lines, destination };
}

describe('createLogger', () => {
  it('writes JSON lines with the level as a word and the bindings of child loggers', () => {
    const { lines, destination } = capture();
    createLogger({ destination }).child({ service: 'default/web' }).info({ nodes: 3 }, 'updated');
    assert.equal(lines[0]!.level, 'info');
    assert.equal(lines[0]!.service, 'default/web');
    assert.equal(lines[0]!.msg, 'updated');
  });

  it('never prints a credential, at any depth', () => {
    const { lines, destination } = capture();
    createLogger({ destination }).info(
      { token: 't0p', a: { password: 'p1' }, a2: { b: { secretAccessKey: 'k2' } } },
      'x',
    );
    const text = JSON.stringify(lines[0]);
    for (const secret of ['t0p', 'p1', 'k2'])
      assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
  });

  it("censors a credential four levels down, in a list and in a child logger's bindings", () => {
    const { lines, destination } = capture();
    createLogger({ destination })
      .child({ credentials: { accessKeyId: 'AKIA-bound' } })
      .info(
        {
          a: { b: { c: { sessionToken: 's3cr3t' } } },
          list: [{ authorization: 'Bearer xyz' }],
          deep: { l1: { l2: { l3: { l4: { l5: { token: 'far-down' } } } } } },
          kept: { name: 'web' },
        },
        'x',
      );
    const text = JSON.stringify(lines[0]);
    for (const secret of ['AKIA-bound', 's3cr3t', 'Bearer xyz', 'far-down'])
      assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    assert.deepEqual(lines[0]!.kept, { name: 'web' }, 'other fields are kept as they are');
    assert.equal((lines[0]!.credentials as unknown) ?? undefined, '[redacted]');
  });
});

describe('createLogger with errors', () => {
  it('writes an Error as type, message and stack, censoring its fields and its cause', () => {
    const { lines, destination } = capture();
    const cause = Object.assign(new Error('inner'), { password: 'p4ss' });
    const err = Object.assign(new TypeError('outer', { cause }), {
      code: 'E_X',
      request: { headers: { authorization: 'Bearer leak' } },
    });
    const logger = createLogger({ destination });
    logger.error({ err }, 'failed');
    logger.error({ service: 'default/web', failure: err }, 'failed too');
    for (const line of lines) {
      const text = JSON.stringify(line);
      for (const secret of ['p4ss', 'Bearer leak'])
        assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    }
    const written = lines[0]!.err as Record<string, unknown>;
    assert.equal(written.type, 'TypeError');
    assert.equal(written.message, 'outer: inner', "pino's reading: the cause's message joined on");
    assert.equal(written.code, 'E_X');
    assert.match(String(written.stack), /^TypeError: outer/);
    assert.equal((lines[1]!.failure as Record<string, unknown>).type, 'TypeError');
  });

  it('cuts an Error message as it cuts any string', () => {
    const { lines, destination } = capture();
    createLogger({ destination }).error({ err: new Error('x'.repeat(200_000)) }, 'failed');
    assert.ok(JSON.stringify(lines[0]).length < 20_000, 'a 200 KB message is not a 200 KB line');
  });
});

describe('createLogger with values users wrote', () => {
  it('keeps a text line one line: a newline in a value or the message cannot forge another', () => {
    const chunks: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, done) {
        chunks.push(String(chunk));
        done();
      },
    });
    const forged = 'rr\nINFO  ensured load balancer service=kube-system/dns';
    createLogger({ destination, format: 'text' }).warn(
      { service: 'default/web', annotation: forged },
      `bad scheduler ${forged}`,
    );
    const text = chunks.join('');
    assert.equal(text.split('\n').length, 2, text);
    assert.match(text, /annotation="rr\\nINFO  ensured load balancer service=kube-system\/dns"/);
  });

  it('quotes a text value with a space or "=", so it cannot pass for two fields', () => {
    const chunks: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, done) {
        chunks.push(String(chunk));
        done();
      },
    });
    createLogger({ destination, format: 'text' }).info({ a: 'x service=other', b: 'plain' }, 'm');
    assert.match(chunks.join(''), /a="x service=other" b=plain/);
  });

  it('cuts every string it writes to about 1 KiB: a 200 KB annotation is not a 200 KB line', () => {
    const { lines, destination } = capture();
    const huge = 'z'.repeat(200_000);
    createLogger({ destination }).warn(
      { service: 'default/web', value: huge, nested: { list: [huge] } },
      `Invalid: ${huge}`,
    );
    const line = JSON.stringify(lines[0]);
    assert.ok(line.length < 4000, `${line.length} characters`);
    assert.match(String(lines[0]!.value), /more characters\)$/);
  });
});
