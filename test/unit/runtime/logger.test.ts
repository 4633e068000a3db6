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
    createLogger({ destination }).info({ token: 't0p', a: { password: 'p1' }, a2: { b: { secretAccessKey: 'k2' } } }, 'x');
    const text = JSON.stringify(lines[0]);
    for (const secret of ['t0p', 'p1', 'k2']) assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
  });
});
