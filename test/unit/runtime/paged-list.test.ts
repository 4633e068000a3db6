import assert from 'node:assert/strict';
import { ApiException, type KubernetesListObject, type V1Service } from '@kubernetes/client-node';
import { listInPages, type PageRequest } from '../../../runtime/paged-list.js';

type List = KubernetesListObject<V1Service>;
const svc = (name: string): V1Service => ({ metadata: { name, managedFields: [{}] } });
const strip = (s: V1Service) => {
  delete s.metadata!.managedFields;
  return s;
};

/** A server of `names` in pages of `size`, from one snapshot at resourceVersion 7. */
function server(names: string[], options: { expireAfter?: number } = {}) {
  const asked: (PageRequest | undefined)[] = [];
  const list = async (page: PageRequest | undefined): Promise<List> => {
    asked.push(page);
    if (!page) return { metadata: { resourceVersion: '9' }, items: names.map(svc) };
    const from = page._continue ? Number(page._continue) : 0;
    if (options.expireAfter !== undefined && from >= options.expireAfter) {
      throw new ApiException(410, 'Gone', { reason: 'Expired' }, {});
    }
    const to = from + page.limit;
    return {
      metadata: { resourceVersion: '7', ...(to < names.length ? { _continue: String(to) } : {}) },
      items: names.slice(from, to).map(svc),
    };
  };
  return { list, asked };
}

const names = Array.from({ length: 7 }, (_, i) => `svc-${i}`);

describe('listInPages', () => {
  it('joins every page into one list at the snapshot resourceVersion, transformed', async () => {
    const { list, asked } = server(names);
    const got = await listInPages(list, strip, 3);
    assert.deepEqual(
      got.items.map((s) => s.metadata!.name),
      names,
    );
    assert.ok(got.items.every((s) => s.metadata!.managedFields === undefined));
    assert.equal(got.metadata?.resourceVersion, '7');
    assert.equal(got.metadata?._continue, undefined);
    assert.deepEqual(asked, [
      { limit: 3 },
      { limit: 3, _continue: '3' },
      { limit: 3, _continue: '6' },
    ]);
  });

  it('starts over with one whole list when a continue token has expired (410)', async () => {
    const { list, asked } = server(names, { expireAfter: 3 });
    const got = await listInPages(list, strip, 3);
    assert.equal(got.items.length, 7);
    assert.equal(got.metadata?.resourceVersion, '9');
    assert.ok(got.items.every((s) => s.metadata!.managedFields === undefined));
    assert.equal(asked.at(-1), undefined);
  });

  it('lets any other error through, and a 410 on the first page too', async () => {
    const failing = async (): Promise<List> => {
      throw new ApiException(410, 'Gone', {}, {});
    };
    await assert.rejects(
      listInPages(failing),
      (err: unknown) => (err as ApiException<unknown>).code === 410,
    );
  });
});
