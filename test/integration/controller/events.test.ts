import assert from 'node:assert/strict';
import { CoreV1Api, type CoreV1Event, type V1Service } from '@kubernetes/client-node';
import { ApiEventRecorder } from '../../../controllers/service/events.js';
import type { Logger } from '../../../contract/logger.js';
import { startApiServer, type ApiServer } from '../../../sandbox/apiserver/index.js';
import { newPostedService } from '../../fixtures/builders.js';

/** The Events in `default`, in the order the API server stored them. */
async function storedEvents(core: CoreV1Api): Promise<CoreV1Event[]> {
  const { items } = await core.listNamespacedEvent({ namespace: 'default' });
  return items.sort(
    (a, b) => Number(a.metadata?.resourceVersion) - Number(b.metadata?.resourceVersion),
  );
}

function warningsLogger(warnings: string[]): Logger {
  const logger: Logger = {
    debug() {},
    info() {},
    warn: (a: object | string, msg?: string) =>
      void warnings.push(typeof a === 'string' ? a : (msg ?? '')),
    error() {},
    child: () => logger,
  };
  return logger;
}

describe('ApiEventRecorder', () => {
  let api: ApiServer;
  let core: CoreV1Api;
  let web: V1Service;

  beforeEach(async () => {
    api = await startApiServer();
    core = api.kubeConfig().makeApiClient(CoreV1Api);
    web = await core.createNamespacedService({
      namespace: 'default',
      body: newPostedService('web'),
    });
  });
  afterEach(() => api.close());

  it('writes an Event about the Service with the upstream fields', async () => {
    const recorder = new ApiEventRecorder(core, { component: 'service-controller' });
    recorder.record(web, 'Normal', 'EnsuringLoadBalancer', 'Ensuring load balancer');
    await recorder.flush();

    const [event, ...more] = await storedEvents(core);
    assert.equal(more.length, 0);
    assert.equal(event!.type, 'Normal');
    assert.equal(event!.reason, 'EnsuringLoadBalancer');
    assert.equal(event!.message, 'Ensuring load balancer');
    assert.equal(event!.count, 1);
    assert.equal(event!.source?.component, 'service-controller');
    assert.deepEqual(
      {
        kind: event!.involvedObject.kind,
        name: event!.involvedObject.name,
        uid: event!.involvedObject.uid,
      },
      { kind: 'Service', name: 'web', uid: web.metadata!.uid },
    );
  });

  it('counts a repeat of the same Event on the first object instead of writing another', async () => {
    const recorder = new ApiEventRecorder(core);
    recorder.record(web, 'Warning', 'SyncLoadBalancerFailed', 'quota exceeded');
    recorder.record(web, 'Warning', 'SyncLoadBalancerFailed', 'quota exceeded');
    recorder.record(web, 'Warning', 'SyncLoadBalancerFailed', 'another message');
    await recorder.flush();

    const events = await storedEvents(core);
    assert.deepEqual(
      events.map((e) => [e.message, e.count]),
      [
        ['quota exceeded', 2],
        ['another message', 1],
      ],
    );
  });

  it('writes Events one at a time, in the order recorded, even when one write is slow', async () => {
    api.faults.delayNext({ verb: 'create', resource: 'events' }, 200);
    const recorder = new ApiEventRecorder(core);
    for (const reason of ['First', 'Second', 'Third'])
      recorder.record(web, 'Normal', reason, reason);
    await recorder.flush();

    assert.deepEqual(
      (await storedEvents(core)).map((e) => e.reason),
      ['First', 'Second', 'Third'],
    );
  });

  it('drops new Events while its backlog is full, counts each and warns once', async () => {
    api.faults.delayNext({ verb: 'create', resource: 'events' }, 200);
    const warnings: string[] = [];
    let dropped = 0;
    const recorder = new ApiEventRecorder(core, {
      maxQueued: 2,
      onDrop: () => dropped++,
      logger: warningsLogger(warnings),
    });
    for (let i = 0; i < 5; i++) recorder.record(web, 'Normal', `Reason${i}`, 'm');
    await recorder.flush();

    assert.deepEqual(
      (await storedEvents(core)).map((e) => e.reason),
      ['Reason0', 'Reason1'],
    );
    assert.equal(dropped, 3);
    assert.deepEqual(warnings, ['event backlog full; dropping events']);

    // Room again: the next Event is written.
    recorder.record(web, 'Normal', 'After', 'm');
    await recorder.flush();
    assert.equal((await storedEvents(core)).at(-1)?.reason, 'After');
  });
});
