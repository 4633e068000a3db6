/**
 * The native TCP relay (native/splice-relay, Linux): once a client and its backend are both
 * connected, their file descriptors go to a relay thread that moves bytes with epoll, recv/send
 * and splice(2), so JavaScript does no work per chunk. JavaScript keeps accept, the scheduler,
 * the backend connect and the sockets themselves: the relay never closes a descriptor, it reports
 * once when it is over and the caller then destroys both sockets, which releases the backend and
 * counts the connection out as with the JavaScript relay.
 *
 * Loaded at most once; where it is not built (`make native`), is skipped (KUBE_LBC_SKIP_NATIVE=1)
 * or not on Linux, `nativeRelay` is undefined and `nativeRelayProblem` says why, and the listener
 * relays in JavaScript.
 */
import { createRequire } from 'node:module';
import type net from 'node:net';

interface SpliceRelayAddon {
  start(
    clientFd: number,
    upstreamFd: number,
    idleMs: number,
    counters: Float64Array,
    done: (reason: number, errno: number) => void,
  ): object;
  abort(handle: object): void;
}

/** How a native relay ended: both ends forwarded, an error either way, or the idle timeout. */
export type NativeOutcome = 'ended' | 'error' | 'idle';
const outcomes: readonly NativeOutcome[] = ['ended', 'error', 'idle'];

/** Where the addon may be, relative to this module: in the source tree (providers/local/) and in dist/. */
export const addonPaths = [
  '../../native/splice-relay/build/Release/splice_relay.node',
  '../../../native/splice-relay/build/Release/splice_relay.node',
];

/** The addon, or why there is none. */
export interface LoadedRelay {
  addon?: SpliceRelayAddon;
  problem?: string;
}

/**
 * Loads the first of `paths` (relative to this module) that exists. KUBE_LBC_SKIP_NATIVE=1, which
 * skips the build (native/splice-relay/build.mjs), skips loading an earlier build as well.
 */
export function loadNativeRelay(
  paths: readonly string[] = addonPaths,
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
): LoadedRelay {
  if (platform !== 'linux') return { problem: `not on Linux (${platform})` };
  if (env.KUBE_LBC_SKIP_NATIVE === '1') return { problem: 'skipped (KUBE_LBC_SKIP_NATIVE=1)' };
  const require = createRequire(import.meta.url);
  let problem = 'not built (make native)';
  for (const path of paths) {
    try {
      return { addon: require(path) as SpliceRelayAddon };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'MODULE_NOT_FOUND') problem = `failed to load: ${(err as Error).message}`;
    }
  }
  return { problem };
}

const loaded = loadNativeRelay();
export const nativeRelay: SpliceRelayAddon | undefined = loaded.addon;
/** Why `nativeRelay` is undefined. */
export const nativeRelayProblem: string | undefined = loaded.problem;

/** A connection being relayed natively. */
export interface NativeFlow {
  /** Bytes sent client -> backend, and backend -> client, so far. */
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Ends the relay (both sockets shut down); `done` follows. No effect once done. */
  abort(): void;
}

/** The descriptor of a socket libuv has not started reading, or undefined. */
function idleFdOf(socket: net.Socket): number | undefined {
  const handle = (socket as unknown as { _handle?: { fd?: unknown; reading?: unknown } | null })
    ._handle;
  const fd = handle?.fd;
  return typeof fd === 'number' && fd >= 0 && handle?.reading !== true ? fd : undefined;
}

/**
 * Hands two connected sockets that libuv is not reading (the client accepted paused, the backend
 * from its 'connect' event, before Node's first read) to the relay thread. Returns undefined,
 * and touches nothing, where the addon or a descriptor is missing. Until `done` is called the
 * caller must neither read, write nor destroy either socket (use `abort`); in `done` it destroys
 * both.
 */
export function relayNatively(
  client: net.Socket,
  upstream: net.Socket,
  idleTimeoutMs: number,
  done: (outcome: NativeOutcome, errno: number) => void,
): NativeFlow | undefined {
  if (!nativeRelay) return undefined;
  // Paused, Node does not start its first read after 'connect' returns; libuv must never read
  // a descriptor the relay thread reads.
  client.pause();
  upstream.pause();
  const clientFd = idleFdOf(client);
  const upstreamFd = idleFdOf(upstream);
  if (clientFd === undefined || upstreamFd === undefined) return undefined;
  // JavaScript's own idle timers would fire on sockets it no longer sees traffic on.
  client.setTimeout(0);
  upstream.setTimeout(0);
  const counters = new Float64Array(2);
  let over = false;
  const handle = nativeRelay.start(
    clientFd,
    upstreamFd,
    Math.max(1, Math.round(idleTimeoutMs)),
    counters,
    (reason, errno) => {
      over = true;
      done(outcomes[reason] ?? 'error', errno);
    },
  );
  return {
    get bytesIn() {
      return counters[0]!;
    },
    get bytesOut() {
      return counters[1]!;
    },
    abort() {
      if (!over) nativeRelay!.abort(handle);
    },
  };
}
