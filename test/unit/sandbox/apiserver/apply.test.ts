import assert from 'node:assert/strict';
import { applyAsPatch, parseApplied } from '../../../../sandbox/apiserver/apply.js';
import { strategicMerge } from '../../../../sandbox/apiserver/smp.js';
import type { KObject } from '../../../../sandbox/apiserver/types.js';

const schema = { 'spec.ports': { key: 'port' }, 'metadata.finalizers': {} };
const obj = (metadata: object, spec: object): KObject =>
  ({ apiVersion: 'v1', kind: 'Service', metadata, spec }) as KObject;

describe('server-side apply (simplified)', () => {
  const live = obj(
    { name: 's', labels: { mine: '1', theirs: '1' }, finalizers: ['a/mine', 'b/theirs'] },
    {
      clusterIP: '10.0.0.1',
      ports: [
        { port: 80, targetPort: 8080, nodePort: 30080 },
        { port: 443, targetPort: 8443, nodePort: 30443 },
        { port: 9000, nodePort: 30900 },
      ],
    },
  );
  const previous = obj(
    { name: 's', labels: { mine: '1' }, finalizers: ['a/mine'] },
    {
      ports: [
        { port: 80, targetPort: 8080 },
        { port: 443, targetPort: 8443 },
      ],
    },
  );

  it('takes back what the manager applied before and left out, and keeps what others set', () => {
    const applied = obj({ name: 's' }, { ports: [{ port: 80, targetPort: 9090 }] });
    const merged = strategicMerge(live, applyAsPatch(previous, applied, schema), schema) as KObject;
    assert.deepEqual(merged.metadata, {
      name: 's',
      labels: { theirs: '1' },
      finalizers: ['b/theirs'],
    });
    assert.deepEqual(merged.spec, {
      clusterIP: '10.0.0.1',
      ports: [
        { port: 80, targetPort: 9090, nodePort: 30080 },
        { port: 9000, nodePort: 30900 },
      ],
    });
  });

  it('a first apply only sets', () => {
    const applied = obj({ name: 's', labels: { extra: 'x' } }, {});
    const merged = strategicMerge(
      live,
      applyAsPatch(undefined, applied, schema),
      schema,
    ) as KObject;
    assert.deepEqual(merged.metadata.labels, { mine: '1', theirs: '1', extra: 'x' });
    assert.deepEqual(merged.spec, live.spec);
  });

  it('needs a fieldManager, apiVersion and kind', () => {
    assert.throws(() => parseApplied('kind: Service\napiVersion: v1\n', null), /fieldManager/);
    assert.throws(() => parseApplied('metadata: {name: s}\n', 'm'), /apiVersion and kind/);
    assert.equal(parseApplied('{"apiVersion":"v1","kind":"Service"}', 'm').kind, 'Service');
  });
});
