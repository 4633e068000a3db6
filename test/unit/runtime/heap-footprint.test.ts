import assert from 'node:assert/strict';
import { favourSmallHeap } from '../../../runtime/heap-footprint.js';

describe('favourSmallHeap', () => {
  it('leaves the choice to a command line or NODE_OPTIONS that made one', () => {
    assert.equal(favourSmallHeap(['--no-optimize-for-size'], ''), false);
    assert.equal(favourSmallHeap([], '--max-old-space-size=512 --optimize_for_size'), false);
  });

  it('asks for a small heap otherwise', () => {
    assert.equal(favourSmallHeap(['--enable-source-maps'], '--max-old-space-size=512'), true);
  });
});
