// Tests for sorting an engine's answer into the closed set of failures the layer maps to filegate's codes.

import { expect } from 'chai';
import { EngineError, isRetryable, toEngineErrorKind, type EngineErrorKind } from '../../src/layers/s3/engine-error.js';

describe('toEngineErrorKind', () => {
  const cases: Array<[number, string | undefined, EngineErrorKind]> = [
    [404, 'NoSuchKey', 'not-found'],
    [404, 'NoSuchBucket', 'unavailable'],
    [404, undefined, 'not-found'],
    [403, 'AccessDenied', 'not-readable'],
    [403, 'InvalidObjectState', 'not-readable'],
    [403, 'SignatureDoesNotMatch', 'unavailable'],
    [403, 'InvalidAccessKeyId', 'unavailable'],
    [403, 'RequestTimeTooSkewed', 'unavailable'],
    [400, 'AuthorizationHeaderMalformed', 'unavailable'],
    [301, 'PermanentRedirect', 'unavailable'],
    [403, undefined, 'not-readable'],
    [503, 'SlowDown', 'slow-down'],
    [503, 'ServiceUnavailable', 'slow-down'],
    [503, undefined, 'slow-down'],
    [412, 'PreconditionFailed', 'precondition-failed'],
    [409, 'ConditionalRequestConflict', 'precondition-failed'],
    [412, undefined, 'precondition-failed'],
    [500, 'InternalError', 'other'],
    [416, 'InvalidRange', 'other'],
    [400, 'InvalidArgument', 'other'],
  ];
  for (const [status, code, kind] of cases) {
    it(`${status} ${code ?? '(no body)'} → ${kind}`, () => expect(toEngineErrorKind(status, code)).to.equal(kind));
  }
});

describe('isRetryable', () => {
  const cases: Array<[EngineErrorKind, number | undefined, boolean]> = [
    ['unavailable', undefined, true],
    ['slow-down', 503, true],
    ['other', 500, true],
    ['other', 502, true],
    ['other', 504, true],
    ['unavailable', 403, false],
    ['unavailable', 404, false],
    ['not-found', 404, false],
    ['precondition-failed', 412, false],
    ['other', 400, false],
  ];
  for (const [kind, status, retry] of cases) {
    it(`${kind} ${status ?? '(no answer)'} → ${retry ? 'send again' : 'give up'}`, () => {
      const error = new EngineError(kind, { operation: 'GET', key: 'k', ...(status === undefined ? {} : { status }) });
      expect(isRetryable(error)).to.equal(retry);
    });
  }
});

describe('EngineError', () => {
  it('names the operation, key, status and engine code', () => {
    const error = new EngineError('not-found', { operation: 'HEAD', key: 'a//b', status: 404, engineCode: 'NoSuchKey' });
    expect(error.message).to.equal('object store: HEAD "a//b" answered 404 NoSuchKey');
  });
  it('says why when no answer came', () => {
    const error = new EngineError('unavailable', { operation: 'LIST' }, 'failed: ECONNREFUSED');
    expect(error.message).to.equal('object store: LIST failed: ECONNREFUSED');
  });
});
