/**
 * The TCP listener's two ways of moving bytes, each through real sockets: relay.ts's shared read
 * buffer (the default wherever Node allows it) and `pipe` (the fallback). Both must keep bytes
 * intact across many interleaved flows, forward a half-close, bound what a slow reader makes the
 * proxy hold, and close idle connections.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Balancer } from '../../../providers/local/balancer.js';
import { canAdoptReads, readsTo } from '../../../providers/local/relay.js';
import { nativeRelay, nativeRelayProblem } from '../../../providers/local/native-relay.js';
import { TcpListener, type TcpForwarding } from '../../../providers/local/tcp-proxy.js';
import { noopLogger } from '../../../contract/logger.js';

const host = '127.243.2.1';
const listenPort = 18090;
const MiB = 1024 * 1024;
const run = promisify(execFile);

interface TestServer {
  readonly port: number;
  close(): Promise<void>;
}

/** A server on `host` (port from the kernel) handing each connection to `handler`. */
async function serve(
  handler: (socket: net.Socket) => void,
  options: net.ServerOpts = {},
): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true, ...options }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    handler(socket);
  });
  server.listen(0, host);
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Echoes, and ends its side after the client ended its own. */
const echoServer = () => serve((socket) => socket.pipe(socket));

/**
 * A backend that answers each connection as a web server does a static file: a short header,
 * then the file by sendfile(2), and the connection kept open (keep-alive). Python, because Node
 * has no sendfile: its segments carry the file's page-cache pages, 4 KiB each, where a Node
 * write's carry 32 KiB ones, and a splice of such a queue stops at its 16 pipe slots short of
 * 64 KiB. nginx answered 256 KiB this way through the native relay at 55 requests/s.
 */
async function sendfileServer(file: string): Promise<TestServer> {
  const script = `
import socket, sys
srv = socket.socket()
srv.bind((sys.argv[2], 0))
srv.listen(16)
print(srv.getsockname()[1], flush=True)
while True:
    conn, _ = srv.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn.sendall(b"header\\n")
    with open(sys.argv[1], "rb") as f:
        conn.sendfile(f)
    while conn.recv(65536):
        pass
    conn.close()
`;
  const child = spawn('python3', ['-c', script, file, host], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return {
    port: Number(line.toString().trim()),
    async close() {
      child.kill();
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    },
  };
}

/** Reads `length` bytes; rejects naming how far it got if they have not come by `limitMs`. */
async function readExactly(socket: net.Socket, length: number, limitMs: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`stalled: ${got} of ${length} bytes after ${limitMs} ms`)),
      limitMs,
    );
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      got += chunk.length;
      if (got >= length) {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks));
      }
    });
  });
}

/**
 * A backend that writes `chunks` in order as fast as the socket takes them, then ends; `paced`
 * yields to the event loop between writes, so a reader sees small reads rather than 64 KiB ones.
 * `sent` counts what the socket accepted; `stalled` resolves once a write has waited `ms`, or
 * once everything went out (the reader never pushed back).
 */
function sender(chunks: readonly Buffer[], paced = false) {
  const state = { sent: 0 };
  let waitingSince: number | undefined;
  let done = false;
  const handler = (socket: net.Socket): void => {
    let next = 0;
    const pump = (): void => {
      waitingSince = undefined;
      while (next < chunks.length) {
        const chunk = chunks[next++]!;
        state.sent += chunk.length;
        if (!socket.write(chunk)) {
          waitingSince = Date.now();
          socket.once('drain', pump);
          return;
        }
        if (paced) return void setImmediate(pump);
      }
      done = true;
      socket.end();
    };
    pump();
  };
  const stalled = async (ms: number): Promise<void> => {
    while (!done && (waitingSince === undefined || Date.now() - waitingSince < ms)) await sleep(20);
  };
  /** Whether `received` is everything, in order. */
  const isSent = (received: Buffer): boolean => {
    let at = 0;
    for (const chunk of chunks) {
      if (!received.subarray(at, at + chunk.length).equals(chunk)) return false;
      at += chunk.length;
    }
    return at === received.length;
  };
  return { handler, state, stalled, isSent };
}

/** Deterministic bytes, different for every seed (xorshift32). */
function bytes(seed: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** A socket reading from `fromPort` through the relay into a socket connected to `toPort`. */
async function relayBetween(
  fromPort: number,
  toPort: number,
): Promise<{ reader: net.Socket; to: net.Socket }> {
  const to = net.connect({ host, port: toPort });
  await once(to, 'connect');
  const reader: net.Socket = net.connect({
    host,
    port: fromPort,
    onread: readsTo(to, () => reader),
  });
  return { reader, to };
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function readToEnd(socket: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await once(socket, 'end');
  return Buffer.concat(chunks);
}

async function openListener(
  backendPort: number,
  forwarding: TcpForwarding,
  idleTimeoutMs = 30_000,
  balancer = new Balancer({ scheduler: 'rr' }),
): Promise<TcpListener> {
  balancer.setBackends([{ host, port: backendPort, weight: 1 }]);
  return TcpListener.open({
    address: host,
    port: listenPort,
    balancer,
    logger: noopLogger,
    sourceRanges: [],
    maxConnections: 100,
    idleTimeoutMs,
    forwarding,
  });
}

/** Writes `text` and waits until it comes back. */
async function echoOnce(socket: net.Socket, text: string): Promise<void> {
  let got = '';
  const onData = (chunk: Buffer) => (got += chunk.toString());
  socket.on('data', onData);
  socket.write(text);
  while (got.length < text.length) await once(socket, 'data');
  socket.off('data', onData);
}

function dial(): net.Socket {
  const socket = net.connect({ host, port: listenPort, allowHalfOpen: true });
  socket.on('error', () => {});
  return socket;
}

for (const forwarding of ['native', 'relay', 'pipe'] as const) {
  describe(`TCP listener forwarding by ${forwarding}`, () => {
    let backend: TestServer | undefined;
    let listener: TcpListener | undefined;
    afterEach(async () => {
      await listener?.close(false);
      await backend?.close();
      listener = backend = undefined;
    });

    it('keeps every byte of many interleaved flows intact, both ways', async () => {
      backend = await echoServer();
      listener = await openListener(backend.port, forwarding);
      // Sizes around the 64 KiB read, so reads are both partial and full, small and bulk.
      const sizes = [1, 3000, 65_536, 65_537, 300_000, 2 * MiB, 4 * MiB + 7, 5 * MiB];
      await Promise.all(
        sizes.map(async (size, i) => {
          const payload = bytes(i + 1, size);
          const socket = dial();
          const reply = readToEnd(socket);
          socket.end(payload);
          const got = await reply;
          assert.equal(got.length, size);
          assert.equal(sha(got), sha(payload), `flow ${i} (${size} bytes) arrived intact`);
        }),
      );
    });

    it('forwards a half-close: the client ends its side and still reads the reply', async () => {
      backend = await serve((socket) => {
        socket.resume();
        socket.on('end', () => socket.end('reply after your end'));
      });
      listener = await openListener(backend.port, forwarding);
      const socket = dial();
      const reply = readToEnd(socket);
      socket.end('request');
      assert.equal((await reply).toString(), 'reply after your end');
    });

    it('stops reading the backend while the client does not read, and resumes after', async () => {
      const block = bytes(7, MiB);
      const source = sender(Array.from({ length: 128 }, () => block));
      backend = await serve(source.handler);
      listener = await openListener(backend.port, forwarding);
      const socket = dial();
      socket.pause();
      await source.stalled(300);
      // Kernel socket buffers on four sockets take a few MiB; no unbounded queue anywhere.
      assert.ok(source.state.sent < 48 * MiB, `backend got ${source.state.sent} bytes out`);
      assert.ok(source.isSent(await readToEnd(socket.resume())), 'every byte, in order');
    });

    it('carries files a backend sends by sendfile(2) and keeps the connection open', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'kube-lbc-sendfile-'));
      const file = join(dir, 'body');
      const body = bytes(13, 4 * MiB);
      try {
        writeFileSync(file, body);
        backend = await sendfileServer(file);
        listener = await openListener(backend.port, forwarding);
        // Several connections, each a fresh queue of small-page segments.
        for (let i = 0; i < 4; i++) {
          const socket = dial();
          const got = await readExactly(socket, 'header\n'.length + body.length, 10_000).finally(
            () => socket.destroy(),
          );
          assert.equal(got.subarray(0, 7).toString(), 'header\n');
          assert.ok(got.subarray(7).equals(body), `connection ${i}: every byte, in order`);
        }
      } finally {
        rmSync(dir, { recursive: true });
      }
    });

    it('carries 64 MiB each way at once, intact, and counts the bytes', async () => {
      backend = await echoServer();
      listener = await openListener(backend.port, forwarding);
      const payload = randomBytes(64 * MiB);
      const socket = dial();
      const reply = readToEnd(socket);
      socket.end(payload);
      const got = await reply;
      assert.equal(got.length, payload.length);
      assert.ok(got.equals(payload), 'every byte, in order');
      await once(socket.resume(), 'close');
      while (listener.connections > 0) await once(listener, 'closed');
      const { bytesIn, bytesOut } = listener.snapshot();
      assert.deepEqual({ bytesIn, bytesOut }, { bytesIn: 64 * MiB, bytesOut: 64 * MiB });
    });

    it('closes the client when the backend resets, and gives the backend back (lc at zero)', async () => {
      backend = await serve((socket) => socket.once('data', () => socket.resetAndDestroy()));
      const balancer = new Balancer({ scheduler: 'lc' });
      listener = await openListener(backend.port, forwarding, 30_000, balancer);
      const socket = dial();
      socket.write('anything');
      await once(socket.resume(), 'end'); // half-open: the client may still write, to nobody
      while (listener.connections > 0) await once(listener, 'closed');
      assert.equal(balancer.backends[0]!.activeConnections, 0);
    });

    it('closes the backend side when the client resets, and gives the backend back (lc at zero)', async () => {
      const backendSide: net.Socket[] = [];
      backend = await serve((socket) => {
        backendSide.push(socket);
        socket.resume();
        socket.write('hello');
      });
      const balancer = new Balancer({ scheduler: 'lc' });
      listener = await openListener(backend.port, forwarding, 30_000, balancer);
      const socket = dial();
      await once(socket, 'data');
      assert.equal(balancer.backends[0]!.activeConnections, 1);
      const ended = once(backendSide[0]!, 'end');
      socket.resetAndDestroy();
      await ended;
      while (listener.connections > 0) await once(listener, 'closed');
      assert.equal(balancer.backends[0]!.activeConnections, 0);
    });

    it('brings lc counts back to zero after connections end every way, and after close', async () => {
      backend = await echoServer();
      const balancer = new Balancer({ scheduler: 'lc' });
      listener = await openListener(backend.port, forwarding, 30_000, balancer);
      const sockets = Array.from({ length: 30 }, dial);
      await Promise.all(sockets.map((s) => echoOnce(s, 'ping')));
      assert.equal(balancer.backends[0]!.activeConnections, 30);
      for (const [i, s] of sockets.slice(0, 20).entries()) {
        if (i % 3 === 0) s.end();
        else if (i % 3 === 1) s.destroy();
        else s.resetAndDestroy();
        s.resume();
      }
      while (listener.connections > 10) await once(listener, 'closed');
      assert.equal(balancer.backends[0]!.activeConnections, 10);
      // The rest are cut by the listener's close.
      await listener.close(false);
      while (listener.connections > 0) await once(listener, 'closed');
      assert.equal(balancer.backends[0]!.activeConnections, 0);
      for (const s of sockets) s.destroy();
    });

    it('closes a connection nobody talks on after the idle timeout', async () => {
      backend = await serve((socket) => socket.resume());
      listener = await openListener(backend.port, forwarding, 150);
      const socket = net.connect({ host, port: listenPort }).resume();
      await once(socket, 'connect');
      const since = Date.now();
      socket.write('one message, then silence');
      await once(socket, 'close');
      assert.ok(Date.now() - since >= 140, `closed after ${Date.now() - since} ms`);
      while (listener.connections > 0) await once(listener, 'closed');
    });
  });
}

describe('native relay', () => {
  it('is built on Linux (make native), so the data path relays natively by default', () => {
    if (process.platform !== 'linux') return;
    assert.ok(nativeRelay, `the native relay is ${nativeRelayProblem}`);
  });

  it('is left out with KUBE_LBC_SKIP_NATIVE=1: the data path relays in JavaScript and logs why', async () => {
    // A process of its own: the addon is loaded once per process, when native-relay.ts loads.
    const script = `
      import { DataPath } from ${JSON.stringify(new URL('../../../providers/local/data-path.js', import.meta.url).href)};
      import { createLogger } from ${JSON.stringify(new URL('../../../runtime/logger.js', import.meta.url).href)};
      const healthCheck = { intervalMs: 1000, timeoutMs: 100, unhealthyThreshold: 1, healthyThreshold: 1 };
      const options = { maxConnections: 1, tcpIdleTimeoutMs: 1000, udpIdleTimeoutMs: 1000, healthCheck };
      const dataPath = new DataPath({ ...options, logger: createLogger({ destination: process.stdout }) });
      console.log(JSON.stringify({ forwarding: dataPath.tcpForwarding }));
      await dataPath.close();
      try { new DataPath({ ...options, tcpRelay: 'native' }); } catch (err) { console.log(JSON.stringify({ refused: err.message })); }
    `;
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        env: { ...process.env, KUBE_LBC_SKIP_NATIVE: '1' },
      },
    );
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const started = lines.find((l) => l.msg === 'TCP relay: JavaScript');
    assert.ok(started, stdout);
    assert.equal(started.tcpRelay, 'js');
    assert.equal(started.native, 'skipped (KUBE_LBC_SKIP_NATIVE=1)');
    assert.deepEqual(
      lines.find((l) => 'forwarding' in l),
      { forwarding: 'relay' },
    );
    assert.match(
      String(lines.find((l) => 'refused' in l)?.refused),
      /skipped \(KUBE_LBC_SKIP_NATIVE=1\)/,
    );
  });
});

describe('relay: reads into one shared buffer', () => {
  it('can take over accepted sockets on this Node (else the listener silently pipes)', async () => {
    const server = net.createServer({ pauseOnConnect: true }).listen(0, host);
    await once(server, 'listening');
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const client = net.connect((server.address() as net.AddressInfo).port, host);
    const socket = await accepted;
    assert.equal(canAdoptReads(socket), true);
    socket.destroy();
    client.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('holds at most a high-water mark and one read for a destination that does not read, and loses nothing', async () => {
    // Small reads land in the shared buffer; once the destination's kernel buffers are full,
    // writes queue, and what they hold must survive the reads that follow into that buffer.
    const data = bytes(11, 16 * MiB);
    const slices = Array.from({ length: 16 * 256 }, (_, i) =>
      data.subarray(i * 4096, (i + 1) * 4096),
    );
    const source = sender(slices, true);
    const from = await serve(source.handler);
    const sinkSockets: net.Socket[] = [];
    const sink = await serve((socket) => sinkSockets.push(socket), { pauseOnConnect: true });
    const { reader, to } = await relayBetween(from.port, sink.port);
    reader.once('end', () => to.end());
    await source.stalled(300);
    assert.ok(
      to.writableLength <= to.writableHighWaterMark + 64 * 1024,
      `${to.writableLength} bytes queued in the relay`,
    );
    const [sinkSocket] = sinkSockets;
    assert.ok(source.isSent(await readToEnd(sinkSocket!.resume())), 'every byte, in order');
    reader.destroy();
    to.destroy();
    await Promise.all([from.close(), sink.close()]);
  });

  it('reads on to the end of the source when the destination is destroyed while full', async () => {
    const block = bytes(3, MiB);
    const source = sender(Array.from({ length: 64 }, () => block));
    const from = await serve(source.handler);
    const sink = await serve(() => {}, { pauseOnConnect: true });
    const { reader, to } = await relayBetween(from.port, sink.port);
    await source.stalled(300);
    assert.ok(to.writableLength > 0, 'the destination is full');
    to.destroy();
    await once(reader, 'end');
    reader.destroy();
    await Promise.all([from.close(), sink.close()]);
  });
});
