// The one table from an engine's failure to the error a client of filegate sees.

import { FilegateError } from '../../errors.js';
import { quotePath, type LayerPath } from '../../paths/layer-path.js';
import { isEngineError, type EngineErrorKind } from './engine-error.js';

/**
 * The FilegateError for a failed engine request about `target` of layer
 * `layer`, as the SPEC maps them: the engine refusing the object (access
 * denied, an archived storage class not restored) is NOT_READABLE; the
 * engine or bucket out of reach (connection, DNS, credentials, no such
 * bucket) is FSTYPE_UNAVAILABLE; "slow down" is 503 UNAVAILABLE with the
 * engine's Retry-After, and so is an object replaced under a pinned read
 * (before the first byte went out; after it, the response is cut); a
 * missing object NOT_FOUND. Anything else is INTERNAL, with the engine's
 * answer (operation, key, status, engine code; never a credential) kept as
 * the logged cause. A FilegateError passes through unchanged.
 */
export function toLayerError(error: unknown, layer: string, target: LayerPath): FilegateError {
  if (error instanceof FilegateError) return error;
  if (!isEngineError(error)) return new FilegateError('INTERNAL', 'the object store request failed', { cause: error });
  const shown = quotePath(target.text);
  const messages: Record<EngineErrorKind, () => FilegateError> = {
    'not-found': () => new FilegateError('NOT_FOUND', `${shown} does not exist in layer "${layer}"`, { cause: error }),
    'not-readable': () => new FilegateError('NOT_READABLE', `${shown} exists but the object store does not let the service read it (access denied, or an archived object not restored)`, { cause: error }),
    unavailable: () => new FilegateError('FSTYPE_UNAVAILABLE', `layer "${layer}" is not reachable right now (its object store or bucket cannot be used); try again later`, { cause: error }),
    'slow-down': () => new FilegateError('UNAVAILABLE', `the object store of layer "${layer}" asks for fewer requests right now; retry in ${error.retryAfterSeconds ?? 1} s`, {
      headers: { 'Retry-After': String(Math.max(1, Math.ceil(error.retryAfterSeconds ?? 1))) },
      cause: error,
    }),
    // A pinned read found other bytes: the client's retry will see the new ones from the start.
    'precondition-failed': () => new FilegateError('UNAVAILABLE', `${shown} changed in the object store while it was being read; retry`, { headers: { 'Retry-After': '1' }, cause: error }),
    other: () => new FilegateError('INTERNAL', 'the object store answered with an error', { cause: error }),
  };
  return messages[error.kind]();
}
