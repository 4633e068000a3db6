/**
 * Reads HTTP/1.1 responses (RFC 9112) off a connection as its bytes arrive: the status line and
 * headers, then the body framed by `Content-Length`, by chunked transfer coding, or by the end of
 * the connection. Body bytes are handed on as slices of what arrived, never gathered here, so a
 * watch streamed for hours holds no more than one unfinished chunk-size line.
 *
 * Only what a client of the Kubernetes API meets is read: interim 1xx responses are skipped, and
 * a 101 (an upgrade, never asked for) is an error like any malformed input.
 */

export interface ResponseHead {
  readonly status: number;
  /** Lower-cased names; a repeated header's values joined with ", ". */
  readonly headers: Record<string, string>;
  /** Whether the connection may carry another request after this response. */
  readonly keepAlive: boolean;
}

export interface ResponseHandlers {
  onHead(head: ResponseHead): void;
  onData(chunk: Buffer): void;
  onEnd(): void;
}

export class MalformedResponseError extends Error {
  readonly code = 'ERR_MALFORMED_RESPONSE';
}

/** Longest status line plus headers accepted, as Node's own parser limits them (16 KiB). */
const MAX_HEAD_BYTES = 16 * 1024;
const MAX_CHUNK_LINE_BYTES = 1024;
const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
  Done,
}

export class ResponseParser {
  readonly #handlers: ResponseHandlers;
  readonly #noBody: boolean;
  #state = State.Head;
  /** Bytes of the head, a chunk-size line or the trailers that have not all arrived yet. */
  #pending: Buffer | undefined;
  /** Body bytes still to come in the current length-framed body or chunk. */
  #remaining = 0;

  /** `noBody`: the request was HEAD, so no response to it has a body whatever it says. */
  constructor(handlers: ResponseHandlers, options: { noBody?: boolean } = {}) {
    this.#handlers = handlers;
    this.#noBody = options.noBody ?? false;
  }

  /** Feeds bytes as they arrived; throws MalformedResponseError on what is not HTTP/1.1. */
  push(chunk: Buffer): void {
    let data = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk;
    this.#pending = undefined;
    while (data.length > 0) {
      const rest = this.#step(data);
      if (rest === undefined) return;
      data = rest;
    }
  }

  /** The connection ended: completes a body that runs to it, and fails any other unfinished one. */
  end(): void {
    if (this.#state === State.UntilClose) {
      this.#state = State.Done;
      this.#handlers.onEnd();
    } else if (this.#state !== State.Done) {
      throw new MalformedResponseError('the connection closed before the response ended');
    }
  }

  /** Consumes what it can from `data`; returns the unconsumed rest, or undefined to wait for more. */
  #step(data: Buffer): Buffer | undefined {
    switch (this.#state) {
      case State.Head:
        return this.#readHead(data);
      case State.Length:
      case State.ChunkData:
        return this.#readBody(data);
      case State.ChunkSize:
        return this.#readChunkSize(data);
      case State.ChunkDataEnd:
        return this.#expectCrlf(data);
      case State.Trailers:
        return this.#readTrailers(data);
      case State.UntilClose:
        this.#handlers.onData(data);
        return undefined;
      case State.Done:
        throw new MalformedResponseError('bytes after the end of the response');
    }
  }

  #readHead(data: Buffer): Buffer | undefined {
    const end = data.indexOf(HEAD_END);
    if (end < 0) {
      if (data.length > MAX_HEAD_BYTES) throw new MalformedResponseError('response head too long');
      this.#pending = data;
      return undefined;
    }
    if (end > MAX_HEAD_BYTES) throw new MalformedResponseError('response head too long');
    const head = parseHead(data.toString('latin1', 0, end));
    const rest = data.subarray(end + 4);
    if (head.status < 200) {
      if (head.status === 101) throw new MalformedResponseError('unexpected protocol switch');
      return rest; // an interim response: the real one follows
    }
    this.#handlers.onHead(head.head);
    const noBody = this.#noBody || head.status === 204 || head.status === 304;
    if (noBody) this.#finish();
    else if (head.chunked) this.#state = State.ChunkSize;
    else if (head.length !== undefined) {
      this.#remaining = head.length;
      this.#state = State.Length;
      if (head.length === 0) this.#finish();
    } else this.#state = State.UntilClose;
    return rest;
  }

  #readBody(data: Buffer): Buffer | undefined {
    const take = Math.min(this.#remaining, data.length);
    this.#remaining -= take;
    this.#handlers.onData(take === data.length ? data : data.subarray(0, take));
    if (this.#remaining === 0) {
      if (this.#state === State.Length) this.#finish();
      else this.#state = State.ChunkDataEnd;
    }
    return take === data.length ? undefined : data.subarray(take);
  }

  #readChunkSize(data: Buffer): Buffer | undefined {
    const end = data.indexOf(CRLF);
    if (end < 0) {
      if (data.length > MAX_CHUNK_LINE_BYTES)
        throw new MalformedResponseError('chunk size line too long');
      this.#pending = data;
      return undefined;
    }
    const line = data.toString('latin1', 0, end);
    const hex = line.split(';', 1)[0]!.trim();
    if (!/^[0-9a-fA-F]{1,12}$/.test(hex))
      throw new MalformedResponseError(`bad chunk size "${hex}"`);
    const size = parseInt(hex, 16);
    if (size === 0) this.#state = State.Trailers;
    else {
      this.#remaining = size;
      this.#state = State.ChunkData;
    }
    return data.subarray(end + 2);
  }

  #expectCrlf(data: Buffer): Buffer | undefined {
    if (data.length < 2) {
      this.#pending = data;
      return undefined;
    }
    if (data[0] !== 0x0d || data[1] !== 0x0a)
      throw new MalformedResponseError('chunk not followed by CRLF');
    this.#state = State.ChunkSize;
    return data.subarray(2);
  }

  /** Trailer fields are read past, not kept: the API server sends none. */
  #readTrailers(data: Buffer): Buffer | undefined {
    for (;;) {
      const end = data.indexOf(CRLF);
      if (end < 0) {
        if (data.length > MAX_HEAD_BYTES) throw new MalformedResponseError('trailers too long');
        this.#pending = data;
        return undefined;
      }
      const rest = data.subarray(end + 2);
      if (end === 0) {
        this.#finish();
        return rest;
      }
      data = rest;
    }
  }

  #finish(): void {
    this.#state = State.Done;
    this.#handlers.onEnd();
  }
}

interface ParsedHead {
  head: ResponseHead;
  status: number;
  chunked: boolean;
  length: number | undefined;
}

function parseHead(text: string): ParsedHead {
  const lines = text.split('\r\n');
  const statusLine = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0]!);
  if (!statusLine) throw new MalformedResponseError(`bad status line "${lines[0]!.slice(0, 80)}"`);
  const http10 = statusLine[1] === '0';
  const status = Number(statusLine[2]);
  const headers: Record<string, string> = {};
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MalformedResponseError(`bad header line "${line.slice(0, 80)}"`);
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  const coding = headers['transfer-encoding']?.toLowerCase();
  // Chunked must be the final coding (RFC 9112 6.3); anything else runs to the connection's end.
  const chunked = coding !== undefined && /(?:^|,)\s*chunked\s*$/.test(coding);
  let length: number | undefined;
  if (coding === undefined && headers['content-length'] !== undefined) {
    const raw = headers['content-length'];
    // Repeats of one value are allowed (RFC 9110 8.6); differing ones smuggle a second response.
    const values = new Set(raw.split(',').map((v) => v.trim()));
    if (values.size !== 1 || !/^\d{1,15}$/.test([...values][0]!))
      throw new MalformedResponseError(`bad Content-Length "${raw.slice(0, 40)}"`);
    length = Number([...values][0]);
  }
  const connection = headers.connection?.toLowerCase() ?? '';
  const keepAlive = http10 ? /\bkeep-alive\b/.test(connection) : !/\bclose\b/.test(connection);
  const framed = chunked || length !== undefined || status === 204 || status === 304;
  // Both framings at once is how a response is smuggled: read it, then drop the connection.
  const ambiguous = coding !== undefined && headers['content-length'] !== undefined;
  return {
    head: { status, headers, keepAlive: keepAlive && framed && !ambiguous },
    status,
    chunked,
    length,
  };
}
