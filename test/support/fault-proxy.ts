/**
 * An HTTP proxy on a free loopback port that forwards to one target (moto) and injects the faults
 * a cloud endpoint shows: 503s, answers lost after the request was served (the connection closes
 * before the client reads it), and a hang (connections are accepted, requests read, nothing is
 * ever answered). Tests and benchmarks point the SDK's endpoint at `url` and steer it.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What happens to one request: sent on, refused with a 503, or served with its answer lost. */
export type Fault = 'unavailable' | 'lose' | undefined;

export interface FaultProxyOptions {
  /** Where requests go, such as moto's `http://127.0.0.1:port`. */
  readonly target: string;
  /** For the random rates. @default Math.random */
  readonly random?: () => number;
}

export interface FaultProxy {
  readonly url: string;
  /** `hang`: accept and read, never answer (held requests stay hung after a switch back). */
  mode: 'forward' | 'hang';
  /** Share of requests answered 503 without reaching the target. */
  unavailableRate: number;
  /** Share of requests served by the target whose answer is then dropped. */
  lostAnswerRate: number;
  /** Decides a request's fault by its API action (the `Action` form field); wins over the rates. */
  fault?: (action: string) => Fault;
  /**
   * Answers the request as AWS does a throttled one (ELBv2's 400 `Throttling`, EC2's 503
   * `RequestLimitExceeded`) when it returns true; benchmarks put AWS's token buckets here.
   */
  throttle?: (action: string, api: 'elb' | 'ec2') => boolean;
  readonly counts: {
    forwarded: number;
    unavailable: number;
    lost: number;
    held: number;
    throttled: number;
  };
  close(): Promise<void>;
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  const random = options.random ?? Math.random;
  const sockets = new Set<Socket>();
  const proxy: FaultProxy = {
    url: '',
    mode: 'forward',
    unavailableRate: 0,
    lostAnswerRate: 0,
    counts: { forwarded: 0, unavailable: 0, lost: 0, held: 0, throttled: 0 },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };

  const decide = (action: string): Fault => {
    if (proxy.fault) return proxy.fault(action);
    const r = random();
    if (r < proxy.unavailableRate) return 'unavailable';
    if (r < proxy.unavailableRate + proxy.lostAnswerRate) return 'lose';
    return undefined;
  };

  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    if (proxy.mode === 'hang') {
      proxy.counts.held++;
      return;
    }
    const form = new URLSearchParams(body.toString());
    const action = form.get('Action') ?? '';
    // ELBv2's query API is version 2015-12-01; EC2's is 2016-11-15.
    const api = form.get('Version') === '2015-12-01' ? 'elb' : 'ec2';
    if (proxy.throttle?.(action, api)) {
      proxy.counts.throttled++;
      if (api === 'elb') {
        res
          .writeHead(400, { 'content-type': 'text/xml' })
          .end(
            '<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>throttled</RequestId></ErrorResponse>',
          );
      } else {
        res
          .writeHead(503, { 'content-type': 'text/xml' })
          .end(
            '<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>throttled</RequestID></Response>',
          );
      }
      return;
    }
    const fault = decide(action);
    if (fault === 'unavailable') {
      proxy.counts.unavailable++;
      res.writeHead(503, { 'content-type': 'text/plain' }).end('Service Unavailable');
      return;
    }
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          if (fault === 'lose') {
            proxy.counts.lost++;
            req.socket.destroy();
            return;
          }
          proxy.counts.forwarded++;
          res.writeHead(answer.statusCode ?? 502, answer.headers).end(Buffer.concat(chunks));
        });
      },
    );
    upstream.on('error', () => req.socket.destroy());
    upstream.end(body);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(proxy, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  });
}
