// Who is asking and what they may do; every request is authorized against one of these.

import { SCOPES, type Scope } from '../config/schema.js';
import { fail } from '../errors.js';
import { quotePath } from '../paths/layer-path.js';

export interface Principal {
  /** The token's `sub`, or null when it has none. */
  readonly subject: string | null;
  readonly scopes: ReadonlySet<Scope>;
  /** Path prefixes (as segments) the principal is limited to, or null for the whole layer. */
  readonly paths: readonly (readonly string[])[] | null;
  /** Layer names the principal is limited to, or null for every layer. */
  readonly fstypes: readonly string[] | null;
  /** When the credential stops being valid (the token's `exp`), in Unix seconds; null when it never does. */
  readonly expiresAt?: number | null;
  /**
   * For a signed URL's principal, the link it was granted by (its key id and
   * signature, which no other link shares); limits count against it. Absent
   * for a token.
   */
  readonly link?: string;
}

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** True when `segments` is `prefix` or lies below it, compared segment by segment ("users/42" never covers "users/420"). */
export function isPathWithin(prefix: readonly string[], segments: readonly string[]): boolean {
  return prefix.length <= segments.length && prefix.every((segment, index) => segment === segments[index]);
}

/** Raises FORBIDDEN unless the principal holds `scope`. */
export function checkScope(principal: Principal, scope: Scope): void {
  if (!principal.scopes.has(scope)) fail('FORBIDDEN', `the token lacks the scope "${scope}" this request needs`);
}

/** Raises FORBIDDEN unless the principal may use the layer. */
export function checkLayerAllowed(principal: Principal, layer: string): void {
  if (principal.fstypes !== null && !principal.fstypes.includes(layer)) {
    fail('FORBIDDEN', `the token does not grant access to fstype "${layer}"`);
  }
}

/** True when `segments` lies within one of `paths` (a principal's path prefixes; null for the whole layer). */
export function isWithinPaths(paths: Principal['paths'], segments: readonly string[]): boolean {
  return paths === null || paths.some((prefix) => isPathWithin(prefix, segments));
}

/** True when a principal limited to `paths` may see into `segments`: it lies within a prefix, or on the way to one. */
export function isOnWayOrWithin(paths: Principal['paths'], segments: readonly string[]): boolean {
  return paths === null || paths.some((prefix) => isPathWithin(prefix, segments) || isPathWithin(segments, prefix));
}

/** Raises FORBIDDEN unless `segments` lies within one of the principal's path prefixes. */
export function checkPathAllowed(principal: Principal, segments: readonly string[], shown: string): void {
  if (!isWithinPaths(principal.paths, segments)) {
    fail('FORBIDDEN', `the token does not grant access to ${quotePath(shown)}`);
  }
}

/** The whole authorization of one request: scope, then layer, then path. */
export function authorize(principal: Principal, request: { scope: Scope; layer: string; segments: readonly string[]; shown: string }): void {
  checkScope(principal, request.scope);
  checkLayerAllowed(principal, request.layer);
  checkPathAllowed(principal, request.segments, request.shown);
}
