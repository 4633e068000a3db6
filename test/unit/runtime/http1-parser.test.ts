import assert from 'node:assert/strict';
import {
  MalformedResponseError,
  ResponseParser,
  type ResponseHead,
} from '../../../runtime/http1-parser.js';

interface Read {
  head?: ResponseHead;
  body: string;
  ended: boolean;
}

/** Feeds `bytes` split at `cuts` (offsets), and ends the connection when `close` is set. */
function parse(text: string | Buffer, cuts: number[] = [], close = false): Read {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text, 'latin1');
  const read: Read = { body: '', ended: false };
  const body: Buffer[] = [];
  const parser = new ResponseParser({
    onHead: (h) => (read.head = h),
    onData: (c) => body.push(Buffer.from(c)),
    onEnd: () => (read.ended = true),
  });
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    parser.push(bytes.subarray(at, cut));
    at = cut;
  }
  if (close) parser.end();
  read.body = Buffer.concat(body).toString('utf8');
  return read;
}

/** The same response read whole and split at every offset gives the same result. */
function everySplit(text: string, close = false): Read {
  const whole = parse(text, [], close);
  for (let i = 1; i < text.length; i++)
    for (const cuts of [[i], [Math.floor(i / 2), i]])
      assert.deepEqual(parse(text, cuts, close), whole, `split at ${cuts.join(',')}`);
  return whole;
}

describe('ResponseParser', () => {
  it('reads a Content-Length body, split anywhere', () => {
    const read = everySplit(
      'HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 12\r\n' +
        'Set-Cookie: a\r\nSet-Cookie: b\r\n\r\n{"kind":"x"}',
    );
    assert.deepEqual(read.head, {
      status: 201,
      headers: { 'content-type': 'application/json', 'content-length': '12', 'set-cookie': 'a, b' },
      keepAlive: true,
    });
    assert.equal(read.body, '{"kind":"x"}');
    assert.ok(read.ended);
  });

  it('reads a chunked body with extensions and trailers, split anywhere', () => {
    const read = everySplit(
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' +
        '5;ext=1\r\nhello\r\n1A\r\n' +
        'abcdefghijklmnopqrstuvwxyz' +
        '\r\n0\r\nX-Trailer: t\r\n\r\n',
    );
    assert.equal(read.body, 'helloabcdefghijklmnopqrstuvwxyz');
    assert.ok(read.ended);
    assert.equal(read.head?.keepAlive, true);
  });

  it('hands on each chunk as it arrives, before the response ends', () => {
    const data: string[] = [];
    const parser = new ResponseParser({
      onHead: () => undefined,
      onData: (c) => data.push(c.toString()),
      onEnd: () => data.push('END'),
    });
    parser.push(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nline\r\n'));
    assert.deepEqual(data, ['line']);
    parser.push(Buffer.from('3\r\ntwo\r\n0\r\n\r\n'));
    assert.deepEqual(data, ['line', 'two', 'END']);
  });

  it('skips interim responses and reads no body where none can be', () => {
    const read = parse(
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n',
    );
    assert.equal(read.head?.status, 204);
    assert.equal(read.body, '');
    assert.ok(read.ended);
  });

  it('reads a body without length or chunking to the end of the connection, and does not reuse it', () => {
    const read = everySplit('HTTP/1.1 200 OK\r\n\r\nall of it', true);
    assert.equal(read.body, 'all of it');
    assert.ok(read.ended);
    assert.equal(read.head?.keepAlive, false);
  });

  it('keeps a connection only where HTTP/1.1 allows it', () => {
    const keep = (head: string) => parse(`${head}\r\nContent-Length: 0\r\n\r\n`).head?.keepAlive;
    assert.equal(keep('HTTP/1.1 200 OK'), true);
    assert.equal(keep('HTTP/1.1 200 OK\r\nConnection: close'), false);
    assert.equal(keep('HTTP/1.0 200 OK'), false);
    assert.equal(keep('HTTP/1.0 200 OK\r\nConnection: keep-alive'), true);
  });

  it('lets chunked framing win over a Content-Length sent beside it', () => {
    const read = parse(
      'HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
    );
    assert.equal(read.body, 'ok');
    assert.ok(read.ended);
    assert.equal(read.head?.keepAlive, false);
  });

  it('refuses what could frame a second response or is not HTTP/1.1', () => {
    const bad = [
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok',
      'HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok',
      'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX',
      'HTTP/2 200\r\n\r\n',
      'HTTP/1.1 101 Switching Protocols\r\n\r\n',
      'HTTP/1.1 200 OK\r\nno colon\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokextra',
      `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(17 * 1024)}`,
    ];
    for (const text of bad)
      assert.throws(() => parse(text), MalformedResponseError, text.slice(0, 60));
    // Same values repeated are one length.
    assert.equal(parse('HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok').body, 'ok');
  });

  it('fails a response the connection cut short', () => {
    assert.throws(
      () => parse('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab', [], true),
      /closed before/,
    );
    assert.throws(
      () => parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab', [], true),
      /closed before/,
    );
    assert.throws(() => parse('HTTP/1.1 200', [], true), /closed before/);
  });
});
