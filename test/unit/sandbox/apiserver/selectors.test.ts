import assert from 'node:assert/strict';
import { ApiError } from '../../../../sandbox/apiserver/errors.js';
import {
  fieldMatcher,
  labelMatcher,
  selectedName,
} from '../../../../sandbox/apiserver/selectors.js';

describe('selectors', () => {
  it('match labels with every operator apimachinery knows', () => {
    const labels = { app: 'web', tier: 'front', n: '5' };
    const cases: [string, boolean][] = [
      ['app=web', true],
      ['app==web,tier=back', false],
      ['app!=web', false],
      ['missing!=x', true],
      ['tier in (front, back)', true],
      ['tier notin (front)', false],
      ['app', true],
      ['!missing', true],
      ['!app', false],
      ['n>4,n<6', true],
      ['', true],
    ];
    for (const [selector, want] of cases)
      assert.equal(labelMatcher(selector)(labels), want, selector);
  });

  it('refuse a malformed label selector with a 400', () => {
    for (const bad of ['app in web', 'a=b=c', 'bad key=x', 'n>x']) {
      assert.throws(
        () => labelMatcher(bad),
        (e: ApiError) => e.code === 400,
        bad,
      );
    }
  });

  it('match fields, with escapes, and refuse an unknown field naming the known ones', () => {
    const match = fieldMatcher('metadata.name=a\\,b,spec.type!=ClusterIP', [
      'metadata.name',
      'spec.type',
    ]);
    assert.equal(match({ 'metadata.name': 'a,b', 'spec.type': 'LoadBalancer' }), true);
    assert.equal(match({ 'metadata.name': 'a,b', 'spec.type': 'ClusterIP' }), false);
    assert.throws(
      () => fieldMatcher('spec.nope=1', ['metadata.name']),
      (e: ApiError) =>
        e.code === 400 &&
        e.message === '"spec.nope" is not a known field selector: only "metadata.name"',
    );
    assert.equal(selectedName('metadata.namespace=x,metadata.name==web'), 'web');
  });
});
