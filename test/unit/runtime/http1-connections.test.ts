import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo, type Socket } from 'node:net';
import { Http1Connections, type Http1Request } from '../../../runtime/http1-connections.js';
import type { TlsIdentity } from '../../../runtime/tls-connect.js';
import { selfSigned } from '../../fixtures/self-signed.js';
import { until } from '../../support/until.js';

const identity: TlsIdentity = { options: {} };

function request(url: string, more: Partial<Http1Request> = {}): Http1Request {
  return { url: new URL(url), method: 'GET', headers: {}, tls: identity, ...more };
}

/**
 * A server speaking raw HTTP/1.1, so a test can do what node:http never would: answer on its own
 * schedule, close a kept-alive connection as the next request comes, send malformed bytes.
 * `onRequest` gets each request's head (bodies here are small and sent in the same write).
 */
async function rawServer(onRequest: (socket: Socket, head: string, n: number) => void) {
  const sockets: Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    let n = 0;
    socket.on('data', (d) => onRequest(socket, d.toString('utf8'), n++));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    sockets,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(r));
    },
  };
}

const ok = (body = 'ok', extra = '') =>
  `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;

describe('Http1Connections', () => {
  const connections: Http1Connections[] = [];
  const open = (options = {}) => {
    const c = new Http1Connections(options);
    connections.push(c);
    return c;
  };
  afterEach(() => {
    for (const c of connections.splice(0)) c.close();
  });

  it('writes the request line, headers and body in one write, and reuses the connection', async () => {
    const heads: string[] = [];
    const server = await rawServer((socket, head) => {
      heads.push(head);
      socket.write(ok('{"a":1}'));
    });
    const c = open();
    const body = '{"metadata":{"name":"é"}}';
    const res = await c.call(
      request(`${server.url}/api/v1/x?q=1`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      }),
    );
    await c.call(request(`${server.url}/second`));
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), '{"a":1}');
    assert.equal(
      heads[0],
      `POST /api/v1/x?q=1 HTTP/1.1\r\nhost: ${new URL(server.url).host}\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    assert.match(heads[1]!, /^GET \/second HTTP\/1.1\r\n/);
    assert.equal(server.sockets.length, 1);
    assert.equal(c.connectionsOpened, 1);
    await server.close();
  });

  it('sends a repeatable call again once when the server had closed the kept-alive connection', async () => {
    const server = await rawServer((socket, _head, n) => {
      // The first connection answers once, then closes as the next request comes, unread.
      if (server.sockets.indexOf(socket) === 0 && n === 1) socket.destroy();
      else socket.write(ok(`conn ${server.sockets.indexOf(socket)}`));
    });
    const c = open();
    await c.call(request(server.url));
    const again = await c.call(request(server.url, { method: 'PATCH', body: '{}' }));
    assert.equal(again.body.toString(), 'conn 1');
    assert.equal(c.connectionsOpened, 2);
    await server.close();
  });

  it('does not send a POST twice: its failure is the caller’s', async () => {
    const server = await rawServer((socket, _head, n) => {
      if (n === 1) socket.destroy();
      else socket.write(ok());
    });
    const c = open();
    await c.call(request(server.url));
    await assert.rejects(c.call(request(server.url, { method: 'POST', body: '{}' })));
    assert.equal(c.connectionsOpened, 1);
    // The pool recovers: the next call opens a new connection.
    assert.equal((await c.call(request(server.url))).status, 200);
    await server.close();
  });

  it('keeps at most maxConnections in flight; the rest wait for one to come free', async () => {
    const held: Socket[] = [];
    const server = await rawServer((socket) => {
      held.push(socket);
    });
    const c = open({ maxConnections: 2 });
    const calls = Array.from({ length: 5 }, (_, i) => c.call(request(`${server.url}/${i}`)));
    await until(() => held.length === 2, 'two requests at the server');
    // Answer whatever is waiting until all five are in; only two connections ever open.
    let answered = 0;
    while (answered < 5) {
      await until(() => held.length > answered, 'the next request');
      held[answered++]!.write(ok());
    }
    assert.deepEqual(
      (await Promise.all(calls)).map((r) => r.status),
      [200, 200, 200, 200, 200],
    );
    assert.equal(server.sockets.length, 2);
    await server.close();
  });

  it('does not reuse a connection the server asked to close, or one that broke HTTP', async () => {
    let n = 0;
    const server = await rawServer((socket) => {
      n++;
      if (n === 1) socket.write(ok('bye', 'Connection: close\r\n'));
      else if (n === 2)
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx');
      else socket.write(ok());
    });
    const c = open();
    assert.equal((await c.call(request(server.url))).body.toString(), 'bye');
    await assert.rejects(c.call(request(server.url)), /Content-Length/);
    assert.equal((await c.call(request(server.url))).status, 200);
    assert.equal(c.connectionsOpened, 3);
    await server.close();
  });

  it('fails a call that hears nothing within responseTimeoutMs', async () => {
    const server = await rawServer(() => undefined);
    const c = open({ responseTimeoutMs: 50 });
    await assert.rejects(c.call(request(server.url)), /no answer from the API server in 50 ms/);
    await server.close();
  });

  it('stops a call when its signal aborts, and closes its connection', async () => {
    const server = await rawServer(() => undefined);
    const c = open();
    const abort = new AbortController();
    const call = c.call(request(server.url, { signal: abort.signal }));
    await until(() => server.sockets.length === 1, 'the request at the server');
    abort.abort();
    await assert.rejects(call, { name: 'AbortError' });
    await until(
      () => server.sockets[0]!.destroyed || server.sockets[0]!.readableEnded,
      'the close',
    );
    await server.close();
  });

  it('fails the calls in flight and those waiting when closed, and opens nothing after', async () => {
    const server = await rawServer(() => undefined);
    const c = open({ maxConnections: 1 });
    const inFlight = c.call(request(server.url));
    const waiting = c.call(request(server.url));
    await until(() => server.sockets.length === 1, 'the first request at the server');
    c.close();
    await assert.rejects(inFlight, /connections closed/);
    await assert.rejects(waiting, /connections closed/);
    await assert.rejects(c.call(request(server.url)), /connections closed/);
    assert.equal(c.connectionsOpened, 1);
    await server.close();
  });

  it('does not send a call aborted while it waited for a connection', async () => {
    const heads: string[] = [];
    let first: Socket | undefined;
    const server = await rawServer((socket, head) => {
      heads.push(head);
      first ??= socket;
      if (heads.length > 1) socket.write(ok());
    });
    const c = open({ maxConnections: 1 });
    const held = c.call(request(`${server.url}/held`));
    const abort = new AbortController();
    const aborted = c.call(request(`${server.url}/aborted`, { signal: abort.signal }));
    await until(() => heads.length === 1, 'the first request at the server');
    abort.abort();
    first!.write(ok());
    await held;
    await assert.rejects(aborted, { name: 'AbortError' });
    // The connection went back to the pool unused by the aborted call.
    await c.call(request(`${server.url}/next`));
    assert.deepEqual(
      heads.map((h) => h.split(' ')[1]),
      ['/held', '/next'],
    );
    assert.equal(c.connectionsOpened, 1);
    await server.close();
  });

  it('refuses a header value that would write headers of its own', async () => {
    const server = await rawServer((socket) => socket.write(ok()));
    const c = open();
    await assert.rejects(
      c.call(request(server.url, { headers: { authorization: 'Bearer x\r\nX-Evil: 1' } })),
      /line break/,
    );
    // Nothing was sent, and the pool has its room: a call still goes through.
    assert.equal(server.sockets.length, 0);
    assert.equal((await c.call(request(server.url))).status, 200);
    await server.close();
  });

  it('opens new connections for new credentials', async () => {
    const server = await rawServer((socket) => socket.write(ok()));
    const c = open();
    await c.call(request(server.url));
    await c.call(request(server.url, { tls: { options: {} } }));
    assert.equal(c.connectionsOpened, 2);
    await server.close();
  });

  it('streams a chunked body as it is written, on a connection of its own', async () => {
    let res: http.ServerResponse | undefined;
    let closed = false;
    const server = http.createServer((_req, r) => {
      res = r;
      r.on('close', () => (closed = true));
      r.writeHead(200, { 'content-type': 'application/json' });
      r.write('{"type":"ADDED"}\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const c = open();
    const stream = await c.stream(
      request(`http://127.0.0.1:${(server.address() as AddressInfo).port}/watch`),
    );
    const seen: string[] = [];
    stream.body.on('data', (d: Buffer) => seen.push(d.toString()));
    await until(() => seen.length === 1, 'the first event');
    res!.write('{"type":"MODIFIED"}\n');
    await until(() => seen.length === 2, 'the second event');
    assert.deepEqual(seen, ['{"type":"ADDED"}\n', '{"type":"MODIFIED"}\n']);
    stream.close();
    await until(() => closed, 'the server to see the watch closed');
    server.close();
  });

  it('speaks HTTP/1.1 over TLS, with the credentials’ CA', async () => {
    const files = selfSigned();
    const server = https.createServer(files, (_req, res) => res.end('secure'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const c = open();
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const res = await c.call(request(url, { tls: { options: { ca: files.cert } } }));
    assert.equal(res.body.toString(), 'secure');
    await assert.rejects(
      c.call(request(url, { tls: { options: {} } })),
      /self[- ]signed|certificate/i,
    );
    server.closeAllConnections();
    server.close();
  });
});
