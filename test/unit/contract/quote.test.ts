import assert from 'node:assert/strict';
import { formatFieldErrors } from '../../../contract/errors.js';
import { readyCondition } from '../../../controllers/service/status.js';
import { boundMessage, escapeControl, MESSAGE_LIMIT, quote } from '../../../contract/quote.js';
import { newService } from '../../fixtures/builders.js';

describe('quoting what users wrote', () => {
  it('quotes a string with JSON escapes and cuts it short, saying how much was cut', () => {
    assert.equal(quote('web'), '"web"');
    assert.equal(quote('a\nb'), '"a\\nb"');
    assert.equal(quote('x'.repeat(100), 10), '"xxxxxxxxxx...(90 more characters)"');
    assert.equal(quote(Infinity), 'Infinity');
    assert.equal(quote(undefined), 'nothing');
    assert.equal(quote({ a: NaN }), '{"a":"NaN"}');
  });

  it('escapes every control character, the Unicode line separators included', () => {
    assert.equal(
      escapeControl('a\r\nb\u001b[31m\u2028c\u0085'),
      'a\\r\\nb\\u001b[31m\\u2028c\\u0085',
    );
  });

  it('bounds an Invalid message however many fields and however long each value', () => {
    const huge = 'x'.repeat(200_000);
    const message = formatFieldErrors([
      {
        field: 'metadata.annotations[kube-lbc.io/scheduler]',
        message: `"${huge}" is not one of rr, wrr`,
      },
      { field: huge, message: 'bad' },
    ]);
    assert.ok(message.length < 1000, `${message.length} characters`);
  });

  it('bounds the condition message, whatever the provider said', () => {
    const condition = readyCondition(
      newService('web'),
      { reason: 'Failed', message: `Error: ${'y'.repeat(200_000)}\nforged` },
      new Date(),
    );
    assert.ok(
      condition.message!.length <= MESSAGE_LIMIT + 40,
      `${condition.message!.length} characters`,
    );
    assert.ok(!condition.message!.includes('\n'));
    assert.equal(boundMessage('short'), 'short');
  });
});
