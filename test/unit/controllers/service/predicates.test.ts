import assert from 'node:assert/strict';
import type { V1Service } from '@kubernetes/client-node';
import {
  canonicalJson,
  needsCleanup,
  needsUpdate,
  nodeSetFingerprint,
  sameJson,
  wantsLoadBalancer,
  type ClassFilter,
} from '../../../../controllers/service/predicates.js';
import {
  newNode,
  newService,
  tweakClass,
  tweakFinalizer,
  tweakType,
} from '../../../fixtures/builders.js';

const unclassed: ClassFilter = { loadBalancerClasses: [], handleUnclassed: true };
const onlyOurs: ClassFilter = { loadBalancerClasses: ['example.com/lb'], handleUnclassed: false };

describe('predicates', () => {
  describe('wantsLoadBalancer', () => {
    const cases: { desc: string; svc: V1Service; filter: ClassFilter; want: boolean }[] = [
      {
        desc: 'an unclassed LoadBalancer when handling unclassed',
        svc: newService('a'),
        filter: unclassed,
        want: true,
      },
      {
        desc: 'a ClusterIP Service',
        svc: newService('a', tweakType('ClusterIP')),
        filter: unclassed,
        want: false,
      },
      {
        desc: 'a NodePort Service',
        svc: newService('a', tweakType('NodePort')),
        filter: unclassed,
        want: false,
      },
      {
        desc: 'an ExternalName Service',
        svc: newService('a', tweakType('ExternalName')),
        filter: unclassed,
        want: false,
      },
      {
        desc: 'a Service of a class we claim',
        svc: newService('a', tweakClass('example.com/lb')),
        filter: onlyOurs,
        want: true,
      },
      {
        desc: 'a Service of another class',
        svc: newService('a', tweakClass('other.io/lb')),
        filter: unclassed,
        want: false,
      },
      {
        desc: 'an unclassed Service when not handling unclassed',
        svc: newService('a'),
        filter: onlyOurs,
        want: false,
      },
    ];
    for (const c of cases) {
      it(`is ${c.want} for ${c.desc}`, () =>
        assert.equal(wantsLoadBalancer(c.svc, c.filter), c.want));
    }
  });

  describe('needsCleanup', () => {
    it('is true for a Service with our finalizer that is being deleted', () => {
      const svc = newService(
        'a',
        tweakFinalizer,
        (s) => (s.metadata!.deletionTimestamp = new Date()),
      );
      assert.equal(needsCleanup(svc, unclassed), true);
    });
    it('is true for a Service with our finalizer whose type changed', () => {
      assert.equal(
        needsCleanup(newService('a', tweakFinalizer, tweakType('ClusterIP')), unclassed),
        true,
      );
    });
    it("is false for another class's Service carrying the shared finalizer, even when it is deleted", () => {
      const deleting = (svc: ReturnType<typeof newService>) => (
        (svc.metadata!.deletionTimestamp = new Date()),
        svc
      );
      assert.equal(
        needsCleanup(
          newService('a', tweakFinalizer, tweakClass('other.io/lb'), deleting),
          unclassed,
        ),
        false,
      );
      assert.equal(
        needsCleanup(newService('a', tweakFinalizer, deleting), onlyOurs),
        false,
        'unclassed, when we do not take those',
      );
      assert.equal(
        needsCleanup(newService('a', tweakFinalizer, tweakType('ClusterIP')), onlyOurs),
        false,
      );
    });
    it('is true for a Service we made whose class went with a type change', () => {
      assert.equal(
        needsCleanup(newService('a', tweakFinalizer, tweakType('ClusterIP')), onlyOurs, true),
        true,
      );
    });
    it('is false for a live LoadBalancer of a class we no longer claim (the class is immutable)', () => {
      assert.equal(
        needsCleanup(newService('a', tweakFinalizer, tweakClass('other.io/lb')), unclassed, true),
        false,
      );
    });
    it('is false without our finalizer (nothing was made)', () => {
      assert.equal(needsCleanup(newService('a', tweakType('ClusterIP')), unclassed), false);
    });
    it('is false for a live LoadBalancer', () => {
      assert.equal(needsCleanup(newService('a', tweakFinalizer), unclassed), false);
    });
  });

  describe('needsUpdate', () => {
    const base = newService('a', tweakFinalizer);
    it('ignores a status-only change (our own status write)', () => {
      const cur = structuredClone(base);
      cur.status = { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } };
      cur.metadata!.resourceVersion = '2';
      assert.equal(needsUpdate(base, cur, unclassed), false);
    });
    it('sees a port change', () => {
      const cur = structuredClone(base);
      cur.spec!.ports![0]!.port = 81;
      assert.equal(needsUpdate(base, cur, unclassed), true);
    });
    it('sees an annotation change', () => {
      const cur = structuredClone(base);
      cur.metadata!.annotations = { x: 'y' };
      assert.equal(needsUpdate(base, cur, unclassed), true);
    });
    it('sees the deletion timestamp', () => {
      const cur = structuredClone(base);
      cur.metadata!.deletionTimestamp = new Date();
      assert.equal(needsUpdate(base, cur, unclassed), true);
    });
    it('ignores changes to a ClusterIP Service we never handled', () => {
      const old = newService('a', tweakType('ClusterIP'));
      const cur = structuredClone(old);
      cur.spec!.ports![0]!.port = 81;
      assert.equal(needsUpdate(old, cur, unclassed), false);
    });
  });

  describe('nodeSetFingerprint', () => {
    it('does not change with a heartbeat or a Ready flap', () => {
      const node = newNode('n1');
      const flapped = structuredClone(node);
      flapped.status!.conditions = [
        { type: 'Ready', status: 'False', lastHeartbeatTime: new Date() },
      ];
      assert.equal(nodeSetFingerprint([node]), nodeSetFingerprint([flapped]));
    });
    it('changes with an address', () => {
      const node = newNode('n1');
      const moved = structuredClone(node);
      moved.status!.addresses = [{ type: 'InternalIP', address: '127.9.9.9' }];
      assert.notEqual(nodeSetFingerprint([node]), nodeSetFingerprint([moved]));
    });
    it('does not depend on order', () => {
      assert.equal(
        nodeSetFingerprint([newNode('n1'), newNode('n2')]),
        nodeSetFingerprint([newNode('n2'), newNode('n1')]),
      );
    });
  });
});

describe('canonicalJson', () => {
  /** The reading it must keep: JSON.stringify over copies with their keys sorted. */
  const reference = (value: unknown) =>
    JSON.stringify(value, (_key, v: unknown) =>
      v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)
        ? Object.fromEntries(Object.entries(v as object).sort(([a], [b]) => (a < b ? -1 : 1)))
        : v,
    );
  it('writes what JSON.stringify writes, with the keys of every object sorted', () => {
    const values: unknown[] = [
      { b: 1, a: { d: [3, undefined, () => 1, { z: 'é"\\n', y: null }], c: -0 } },
      { n: [NaN, Infinity, -1.5e-7, 1e21], t: new Date('2025-01-01T00:00:00Z'), u: undefined },
      { s: Symbol('x'), f: () => 2, ok: true, no: false },
      { toJSON: () => ({ y: 1, x: 2 }) },
      ['b', 'a', [], {}],
      { '': 1, a: 2, A: 3, ä: 4 },
      'text',
      12,
      null,
    ];
    for (const value of values) assert.equal(canonicalJson(value), reference(value));
    assert.equal(canonicalJson({ b: 1, a: 2 }), '{"a":2,"b":1}');
    // Sorted as strings, where a JavaScript object puts integer-like keys first whatever it is given.
    assert.equal(canonicalJson({ b: 1, '10': 2, '9': 3, '': 4 }), '{"":4,"10":2,"9":3,"b":1}');
  });
});

describe('sameJson', () => {
  it('reads two values as their canonical JSON does', () => {
    const values: unknown[] = [
      { a: 1, b: [1, { c: 'x' }] },
      { b: [1, { c: 'x' }], a: 1 },
      { a: 1, b: [1, { c: 'x' }], d: undefined },
      { a: 1, b: [1, { c: 'y' }] },
      { a: 1 },
      { a: '1' },
      [1, undefined],
      [1, null],
      [1],
      { t: new Date('2025-01-01T00:00:00Z') },
      { t: '2025-01-01T00:00:00.000Z' },
      null,
      {},
      [],
      '',
      0,
    ];
    for (const a of values)
      for (const b of values)
        assert.equal(
          sameJson(a, b),
          canonicalJson(a) === canonicalJson(b),
          `${canonicalJson(a)} vs ${canonicalJson(b)}`,
        );
  });
});
