import assert from 'node:assert/strict';
import { CoreV1Api, Watch } from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../../../../sandbox/apiserver/index.js';

interface Event {
  type: string;
  resourceVersion?: string;
}

/** Watches Services until `stop` holds or the server ends the stream. */
async function watchServices(
  api: ApiServer,
  query: Record<string, string | number | boolean>,
  stop: (events: Event[]) => boolean = () => false,
): Promise<Event[]> {
  const events: Event[] = [];
  let controller: AbortController | undefined;
  let stopped = false;
  await new Promise<void>((resolve) => {
    void new Watch(api.kubeConfig())
      .watch(
        '/api/v1/services',
        query,
        (type, obj: { metadata?: { resourceVersion?: string } }) => {
          events.push({ type, resourceVersion: obj.metadata?.resourceVersion });
          if (!stopped && stop(events)) {
            stopped = true;
            resolve();
          }
        },
        () => resolve(),
      )
      .then((c) => (controller = c));
  });
  controller?.abort();
  return events;
}

const bookmarks = (events: Event[]) => events.filter((e) => e.type === 'BOOKMARK');

describe('emulator watch bookmarks', () => {
  let api: ApiServer | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  it('sends a watch that allows them a bookmark every interval, naming the current version', async () => {
    api = await startApiServer({ bookmarkIntervalMs: 20 });
    const core = api.kubeConfig().makeApiClient(CoreV1Api);
    const from = (await core.listServiceForAllNamespaces()).metadata!.resourceVersion!;
    const ns = await core.createNamespace({ body: { metadata: { name: 'elsewhere' } } });
    const events = await watchServices(
      api,
      { resourceVersion: from, allowWatchBookmarks: true },
      (e) => bookmarks(e).length === 2,
    );
    assert.deepEqual(
      events.map((e) => [e.type, e.resourceVersion]),
      [
        ['BOOKMARK', ns.metadata!.resourceVersion],
        ['BOOKMARK', ns.metadata!.resourceVersion],
      ],
    );
  });

  it('with an interval of 0 sends only the bookmark 2 s before the timeout, as 1.20 does', async () => {
    api = await startApiServer({ bookmarkIntervalMs: 0 });
    const events = await watchServices(api, { allowWatchBookmarks: true, timeoutSeconds: 3 });
    assert.equal(bookmarks(events).length, 1);
  });
});
