import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Shutdown } from '../../../runtime/shutdown.js';
import { FakeClock, settle } from './fake-clock.js';

describe('Shutdown', () => {
  let proc: EventEmitter;
  let clock: FakeClock;
  let exits: number[];
  let shutdown: Shutdown;

  beforeEach(() => {
    proc = new EventEmitter();
    clock = new FakeClock();
    exits = [];
    shutdown = new Shutdown({
      process: proc,
      exit: (code) => exits.push(code),
      drainTimeoutMs: 25_000,
      sleep: clock.sleep,
    }).install();
  });
  afterEach(() => shutdown.uninstall());

  it('on SIGTERM stops taking work, runs the steps in order, then exits 0', async () => {
    const order: string[] = [];
    let release!: () => void;
    const drained = new Promise<void>((r) => (release = r));
    shutdown
      .onShutdown('controller', async () => {
        order.push(`controller (stopping: ${shutdown.signal.aborted})`);
        await drained;
      })
      .onShutdown('lease', () => order.push('lease'))
      .onShutdown('http', () => order.push('http'));

    proc.emit('SIGTERM', 'SIGTERM');
    await settle();
    assert.equal(shutdown.signal.aborted, true);
    assert.deepEqual(order, ['controller (stopping: true)']);
    assert.deepEqual(exits, [], 'must wait for the drain');

    await clock.advance(20_000);
    release();
    await settle();
    assert.deepEqual(order, ['controller (stopping: true)', 'lease', 'http']);
    assert.deepEqual(exits, [0]);
  });

  it('runs the next step when one fails', async () => {
    const ran: string[] = [];
    shutdown
      .onShutdown('controller', () => {
        throw new Error('boom');
      })
      .onShutdown('lease', () => ran.push('lease'));
    proc.emit('SIGINT', 'SIGINT');
    await settle();
    assert.deepEqual(ran, ['lease']);
    assert.deepEqual(exits, [0]);
  });

  it('exits 1 when the drain overruns its bound, without running later steps', async () => {
    const ran: string[] = [];
    shutdown
      .onShutdown('controller', () => new Promise(() => {}))
      .onShutdown('lease', () => ran.push('lease'));
    proc.emit('SIGTERM', 'SIGTERM');
    await clock.advance(24_999);
    assert.deepEqual(exits, []);
    await clock.advance(1);
    assert.deepEqual(exits, [1]);
    assert.deepEqual(ran, []);
  });

  it('exits 1 at once on a second signal', async () => {
    shutdown.onShutdown('controller', () => new Promise(() => {}));
    proc.emit('SIGTERM', 'SIGTERM');
    await settle();
    proc.emit('SIGINT', 'SIGINT');
    assert.deepEqual(exits, [1]);
  });

  it('shuts down for the program’s own reasons with the code it asks for, once', async () => {
    let runs = 0;
    shutdown.onShutdown('controller', () => void runs++);
    const first = shutdown.shutdown('leader election lost', 1);
    const second = shutdown.shutdown('again');
    assert.equal(await first, 1);
    assert.equal(await second, 1);
    assert.equal(runs, 1);
    assert.deepEqual(exits, [1]);
  });

  it('stops listening once it has exited', async () => {
    await shutdown.shutdown('done');
    assert.equal(proc.listenerCount('SIGTERM'), 0);
    assert.equal(proc.listenerCount('SIGINT'), 0);
  });
});
