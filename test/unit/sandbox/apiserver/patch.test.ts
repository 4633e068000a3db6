import assert from 'node:assert/strict';
import { ApiError } from '../../../../sandbox/apiserver/errors.js';
import { jsonPatch, mergePatch } from '../../../../sandbox/apiserver/patch.js';
import { metaSmp, strategicMerge } from '../../../../sandbox/apiserver/smp.js';

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as ApiError).code;
  }
  return 0;
};

describe('patches', () => {
  describe('JSON merge patch', () => {
    it('merges maps, deletes with null and replaces lists', () => {
      assert.deepEqual(
        mergePatch({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { b: null, d: 3 }, l: [3] }),
        { a: { c: 2, d: 3 }, l: [3] },
      );
    });
  });

  describe('JSON patch', () => {
    const doc = { metadata: { labels: { a: 'x' } }, list: [1, 2] };
    it('adds, replaces, removes, moves and copies', () => {
      const out = jsonPatch(doc, [
        { op: 'add', path: '/list/-', value: 3 },
        { op: 'replace', path: '/metadata/labels/a', value: 'y' },
        { op: 'copy', from: '/metadata/labels/a', path: '/metadata/labels/b' },
        { op: 'move', from: '/list/0', path: '/first' },
        { op: 'add', path: '/metadata/labels/c~1d', value: 'slash' },
        { op: 'remove', path: '/list/0' },
      ]);
      assert.deepEqual(out, {
        metadata: { labels: { a: 'y', b: 'y', 'c/d': 'slash' } },
        list: [3],
        first: 1,
      });
      assert.deepEqual(doc.list, [1, 2], 'the input is not changed');
    });
    it('fails a test op or a missing path with 422, and a patch that is not a list with 400', () => {
      assert.equal(
        codeOf(() => jsonPatch(doc, [{ op: 'test', path: '/metadata/labels/a', value: 'no' }])),
        422,
      );
      assert.equal(
        codeOf(() => jsonPatch(doc, [{ op: 'remove', path: '/nope' }])),
        422,
      );
      assert.equal(
        codeOf(() => jsonPatch(doc, { op: 'add' })),
        400,
      );
    });
  });

  describe('strategic merge patch', () => {
    const schema = { ...metaSmp, 'spec.ports': { key: 'port' } };
    const svc = {
      metadata: { finalizers: ['a'], labels: { x: '1' } },
      spec: {
        ports: [
          { port: 80, targetPort: 8080, name: 'http' },
          { port: 443, targetPort: 8443 },
        ],
        selector: { app: 'a' },
        externalIPs: ['1.1.1.1'],
      },
    };
    it('merges keyed lists by their merge key and replaces other lists', () => {
      const out = strategicMerge(
        svc,
        {
          spec: {
            ports: [{ port: 443, targetPort: 9443 }, { port: 53 }],
            externalIPs: ['2.2.2.2'],
          },
        },
        schema,
      ) as typeof svc;
      assert.deepEqual(out.spec.ports, [
        { port: 80, targetPort: 8080, name: 'http' },
        { port: 443, targetPort: 9443 },
        { port: 53 },
      ]);
      assert.deepEqual(out.spec.externalIPs, ['2.2.2.2']);
    });
    it('honours $patch delete and replace, and $retainKeys', () => {
      const deleted = strategicMerge(
        svc,
        { spec: { ports: [{ port: 80, $patch: 'delete' }] } },
        schema,
      ) as typeof svc;
      assert.deepEqual(
        deleted.spec.ports.map((p) => p.port),
        [443],
      );
      const replaced = strategicMerge(
        svc,
        { spec: { selector: { $patch: 'replace', app: 'b' } } },
        schema,
      ) as typeof svc;
      assert.deepEqual(replaced.spec.selector, { app: 'b' });
      const retained = strategicMerge(
        svc,
        { spec: { $retainKeys: ['ports'], ports: [] } },
        schema,
      ) as { spec: object };
      assert.deepEqual(Object.keys(retained.spec), ['ports']);
    });
    it('treats finalizers as a set, with $deleteFromPrimitiveList and $setElementOrder', () => {
      const out = strategicMerge(
        svc,
        {
          metadata: {
            finalizers: ['b'],
            '$deleteFromPrimitiveList/finalizers': ['a'],
            '$setElementOrder/finalizers': ['b'],
          },
        },
        schema,
      ) as typeof svc;
      assert.deepEqual(out.metadata.finalizers, ['b']);
      const ordered = strategicMerge(
        svc,
        { spec: { '$setElementOrder/ports': [{ port: 443 }, { port: 80 }] } },
        schema,
      ) as typeof svc;
      assert.deepEqual(
        ordered.spec.ports.map((p) => p.port),
        [443, 80],
      );
    });
    it('refuses a keyed list element without its key', () => {
      assert.equal(
        codeOf(() => strategicMerge(svc, { spec: { ports: [{ targetPort: 1 }] } }, schema)),
        400,
      );
    });
  });
});
