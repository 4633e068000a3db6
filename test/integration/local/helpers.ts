/**
 * Real-socket helpers for the local provider's integration tests: named backends that answer
 * with their name, and clients that ask who answered. Everything binds on 127.243.0.0/16, which
 * these tests alone use, so they never collide with the sandbox's 127.240.0.0/16.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';

export interface NamedBackend {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** Connections open on it right now. */
  readonly connections: number;
  stop(): Promise<void>;
  /** Listens again on the same address and port. */
  start(): Promise<void>;
}

/** A TCP server that writes `name\n` on connect, then echoes. */
class TcpNamedBackend implements NamedBackend {
  #server: net.Server | undefined;
  readonly #sockets = new Set<net.Socket>();
  constructor(
    readonly name: string,
    readonly host: string,
    public port: number,
  ) {}

  get connections(): number {
    return this.#sockets.size;
  }

  async start(): Promise<void> {
    const server = net.createServer((socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      socket.on('error', () => {});
      socket.write(`${this.name}\n`);
      socket.pipe(socket);
    });
    server.listen({ host: this.host, port: this.port });
    await once(server, 'listening');
    this.port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}

/**
 * Starts one backend per name on `${prefix}.1`, `${prefix}.2`, ... all on the same port, as
 * nodes share a NodePort: `fixedPort`, or whatever the first one got from the kernel.
 */
export async function startBackends(
  prefix: string,
  names: readonly string[],
  fixedPort = 0,
): Promise<NamedBackend[]> {
  const backends: TcpNamedBackend[] = [];
  let port = fixedPort;
  for (const [i, name] of names.entries()) {
    const b = new TcpNamedBackend(name, `${prefix}.${i + 1}`, port);
    await b.start();
    port = b.port;
    backends.push(b);
  }
  return backends;
}

export interface Connection {
  readonly name: string;
  readonly socket: net.Socket;
}

/** Connects, reads the backend's name line; the connection stays open. */
export async function connect(
  host: string,
  port: number,
  localAddress?: string,
): Promise<Connection> {
  const socket = net.connect({ host, port, localAddress });
  socket.on('error', () => {});
  const name = await new Promise<string>((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const nl = text.indexOf('\n');
      if (nl >= 0) {
        socket.off('data', onData);
        socket.pause();
        if (nl + 1 < text.length) socket.unshift(Buffer.from(text.slice(nl + 1)));
        resolve(text.slice(0, nl));
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`closed before a name arrived (got "${text}")`)));
  });
  return { name, socket };
}

/** Connects, reads the name, closes and waits for the close. */
export async function whoAnswers(
  host: string,
  port: number,
  localAddress?: string,
): Promise<string> {
  const { name, socket } = await connect(host, port, localAddress);
  socket.destroy();
  await once(socket, 'close');
  return name;
}

/** Writes `text` on an open connection and reads the same number of bytes back. */
export function echo(socket: net.Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const onData = (chunk: Buffer) => {
      got += chunk.toString();
      if (got.length < text.length) return;
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
      resolve(got);
    };
    const onClose = () => reject(new Error(`closed after "${got}"`));
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.resume();
    socket.write(text);
  });
}

export async function closeAll(...sockets: net.Socket[]): Promise<void> {
  await Promise.all(
    sockets.map(async (s) => {
      if (s.destroyed) return;
      s.destroy();
      await once(s, 'close');
    }),
  );
}

/** UDP backends answering `name:payload`. */
export async function startUdpBackends(prefix: string, names: readonly string[]) {
  const sockets: dgram.Socket[] = [];
  let port = 0;
  for (const [i, name] of names.entries()) {
    const socket = dgram.createSocket('udp4');
    socket.on('message', (msg, rinfo) => socket.send(`${name}:${msg}`, rinfo.port, rinfo.address));
    socket.bind(port, `${prefix}.${i + 1}`);
    await once(socket, 'listening');
    port = socket.address().port;
    sockets.push(socket);
  }
  return {
    port,
    hosts: names.map((_, i) => `${prefix}.${i + 1}`),
    close: () => Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r())))),
  };
}

/** A client socket that sends one datagram and resolves with the reply. */
export async function udpClient(localAddress = '127.0.0.1') {
  const socket = dgram.createSocket('udp4');
  socket.bind(0, localAddress);
  await once(socket, 'listening');
  return {
    async ask(host: string, port: number, payload: string): Promise<string> {
      socket.send(payload, port, host);
      const [msg] = (await once(socket, 'message')) as [Buffer];
      return msg.toString();
    },
    close: () => new Promise<void>((r) => socket.close(() => r())),
  };
}
