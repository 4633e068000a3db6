/**
 * Forwarding between two sockets with less work per chunk than `pipe`, whose stream machinery
 * was most of the data path's own CPU on small requests (bench/local-balancer.ts).
 *
 * A piped chunk costs a fresh 64 KiB read buffer shrunk to size, a `push` through the Readable's
 * queue, a 'data' event and the pipe's bookkeeping. Here sockets read into one buffer shared by
 * all of them (`onread`), and the callback copies the bytes out into a buffer of their size
 * (pooled below 4 KiB) and writes that. The copy is what makes the sharing safe: a write the
 * kernel does not take at once keeps its own bytes, never the shared buffer, which the next read
 * anywhere overwrites. Read callbacks run one at a time on the event loop and finish with the
 * buffer before returning, so one buffer serves every connection and idle ones cost nothing.
 * A read that fills the buffer means a bulk transfer: that socket then reads into 64 KiB of its
 * own, handed to the write as is (no copy), until a read comes back short.
 *
 * Backpressure is pipe's: once the destination holds its high-water mark of unsent bytes, the
 * source stops reading (the callback returns false) until the destination drains or closes. A
 * direction so holds at most that mark plus two reads (one queued, one to read into); the rest
 * waits in the kernel.
 *
 * Outgoing sockets read this way through public API (`net.connect({ onread })`). Accepted ones
 * cannot in Node 20 (`createServer` takes no `onread`), so `adoptReads` sets on them the fields
 * that option sets, found at load time on probe sockets; where they are not found
 * (`canAdoptReads` is false) the caller pipes instead.
 */
import net from 'node:net';

/** The size of one read, Node's own default. */
const readSize = 64 * 1024;
const shared = Buffer.allocUnsafe(readSize);

/**
 * `onread` options under which the socket `from()` forwards what it reads to `to`. A thunk, so
 * `net.connect` can be given the options of the socket it is creating.
 */
export function readsTo(to: net.Socket, from: () => net.Socket): net.OnReadOpts {
  let own: Uint8Array | undefined;
  return {
    buffer: () => own ?? shared,
    callback: (bytes, buffer) => {
      let chunk: Uint8Array;
      if (buffer === shared) {
        chunk = Buffer.allocUnsafe(bytes);
        shared.copy(chunk, 0, 0, bytes);
      } else {
        chunk = buffer.subarray(0, bytes);
      }
      own = bytes === readSize ? Buffer.allocUnsafe(readSize) : undefined;
      return forward(chunk, from(), to);
    },
  };
}

function forward(chunk: Uint8Array, from: net.Socket, to: net.Socket): boolean {
  // Nowhere to go: read on and drop, so the source still sees its own end.
  if (to.destroyed) return true;
  to.write(chunk);
  if (to.writableLength < to.writableHighWaterMark) return true;
  const resume = (): void => {
    to.off('drain', resume);
    to.off('close', resume);
    from.resume();
  };
  // 'close' too: a destination destroyed while full never drains.
  to.on('drain', resume);
  to.on('close', resume);
  return false;
}

interface OnReadFields {
  readonly buffer: symbol;
  readonly next: symbol;
  readonly callback: symbol;
}

/** Where a socket keeps what `onread` gives it: private symbols, found by value on probes. */
const onReadFields: OnReadFields | undefined = (() => {
  const holding = (onread: net.OnReadOpts, value: unknown): symbol | undefined => {
    const probe = new net.Socket({ onread } as net.SocketConstructorOpts);
    const found = Object.getOwnPropertySymbols(probe).filter(
      (s) => (probe as unknown as Record<symbol, unknown>)[s] === value,
    );
    return found.length === 1 ? found[0] : undefined;
  };
  const buffer = Buffer.alloc(0);
  const next = (): Uint8Array => buffer;
  const callback = (): boolean => true;
  const fields = {
    buffer: holding({ buffer, callback }, buffer),
    next: holding({ buffer: next, callback }, next),
    callback: holding({ buffer, callback }, callback),
  };
  return fields.buffer && fields.next && fields.callback ? (fields as OnReadFields) : undefined;
})();

interface ReadHandle {
  useUserBuffer(buffer: Uint8Array): void;
}

function handleOf(socket: net.Socket): Partial<ReadHandle> | null | undefined {
  return (socket as unknown as { _handle?: Partial<ReadHandle> | null })._handle;
}

/** Whether `adoptReads` can work on this connected socket under this Node. */
export function canAdoptReads(socket: net.Socket): boolean {
  return onReadFields !== undefined && typeof handleOf(socket)?.useUserBuffer === 'function';
}

/**
 * Gives an accepted socket the `onread` that `net.connect` would have taken. Only where
 * `canAdoptReads`, and while the socket is paused (accepted with `pauseOnConnect`): reads
 * start with the next `resume()`. A socket destroyed meanwhile is left alone.
 */
export function adoptReads(socket: net.Socket, onread: net.OnReadOpts): void {
  const handle = handleOf(socket);
  if (!handle?.useUserBuffer || !onReadFields) return;
  const fields = socket as unknown as Record<symbol, unknown>;
  const { buffer, callback } = onread;
  const first = typeof buffer === 'function' ? buffer() : buffer;
  fields[onReadFields.buffer] = first;
  fields[onReadFields.next] = typeof buffer === 'function' ? buffer : null;
  fields[onReadFields.callback] = callback;
  handle.useUserBuffer(first);
}
