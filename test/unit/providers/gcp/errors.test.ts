import assert from 'node:assert/strict';
import { classifyGcpError, operationError } from '../../../../providers/gcp/errors.js';

/** What the REST transport throws: a GaxiosError whose message is Google's JSON body. */
function httpError(status: number, reason: string) {
  return Object.assign(
    new Error(
      JSON.stringify({
        error: { code: status, message: `m-${reason}`, errors: [{ reason, message: 'x' }] },
      }),
    ),
    { status, code: status },
  );
}

describe('gcp error classification', () => {
  const cases: {
    desc: string;
    err: unknown;
    throttled: boolean;
    notFound: boolean;
    retryable: boolean;
    code: string;
  }[] = [
    {
      desc: '403 rateLimitExceeded throttles',
      err: httpError(403, 'rateLimitExceeded'),
      throttled: true,
      notFound: false,
      retryable: true,
      code: 'rateLimitExceeded',
    },
    {
      desc: '429 throttles',
      err: httpError(429, 'rateLimitExceeded'),
      throttled: true,
      notFound: false,
      retryable: true,
      code: 'rateLimitExceeded',
    },
    {
      desc: '503 throttles',
      err: httpError(503, 'backendError'),
      throttled: true,
      notFound: false,
      retryable: true,
      code: 'backendError',
    },
    {
      desc: '404 is not found',
      err: httpError(404, 'notFound'),
      throttled: false,
      notFound: true,
      retryable: false,
      code: 'notFound',
    },
    {
      desc: '400 invalid is final',
      err: httpError(400, 'invalid'),
      throttled: false,
      notFound: false,
      retryable: false,
      code: 'invalid',
    },
    {
      desc: '403 forbidden is final',
      err: httpError(403, 'forbidden'),
      throttled: false,
      notFound: false,
      retryable: false,
      code: 'forbidden',
    },
    {
      desc: '412 conditionNotMet is worth a re-read',
      err: httpError(412, 'conditionNotMet'),
      throttled: false,
      notFound: false,
      retryable: true,
      code: 'conditionNotMet',
    },
    {
      desc: 'a lost answer is transient',
      err: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      throttled: false,
      notFound: false,
      retryable: true,
      code: 'ECONNRESET',
    },
  ];
  for (const c of cases) {
    it(c.desc, () => {
      const e = classifyGcpError('addresses.get', c.err);
      assert.deepEqual(
        { throttled: e.throttled, notFound: e.notFound, retryable: e.retryable, code: e.cloudCode },
        { throttled: c.throttled, notFound: c.notFound, retryable: c.retryable, code: c.code },
      );
      assert.equal(e.operation, 'addresses.get');
    });
  }

  it("turns an Operation's error into a CloudError carrying Google's code and message", () => {
    const e = operationError('forwardingRules.insert', {
      error: {
        errors: [{ code: 'QUOTA_EXCEEDED', message: "Quota 'FORWARDING_RULES' exceeded." }],
      },
      httpErrorStatusCode: 403,
    });
    assert.equal(e?.cloudCode, 'QUOTA_EXCEEDED');
    assert.match(e!.message, /FORWARDING_RULES/);
    assert.equal(e?.retryable, false);
    assert.equal(operationError('x', {}), undefined);
  });
});
