// Route alias templates: "results/{id}/{type}.png" parsed once, checked at start-up, filled per request with validated values.

import { fail } from '../errors.js';

/** A template split into literal text and parameter names, in order. */
export interface Template {
  readonly source: string;
  readonly parts: ReadonlyArray<{ readonly literal: string } | { readonly param: string }>;
  readonly params: readonly string[];
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// A segment of an alias path: a literal, or a whole-segment parameter.
const PATH_SEGMENT = /^(:[A-Za-z_][A-Za-z0-9_]*|[A-Za-z0-9._~-]+)$/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Splits `source` into literals and `{name}` placeholders; stray braces are a problem, returned as a message. */
export function parseTemplate(source: string): Template | string {
  const parts: Array<{ literal: string } | { param: string }> = [];
  const params: string[] = [];
  let at = 0;
  for (const match of source.matchAll(PLACEHOLDER)) {
    if (match.index > at) parts.push({ literal: source.slice(at, match.index) });
    parts.push({ param: match[1]! });
    params.push(match[1]!);
    at = match.index + match[0].length;
  }
  if (at < source.length) parts.push({ literal: source.slice(at) });
  const literals = parts.flatMap((part) => ('literal' in part ? [part.literal] : []));
  if (literals.some((text) => text.includes('{') || text.includes('}'))) return `"${source}" has a brace that is not a {name} placeholder`;
  return { source, parts, params };
}

/**
 * Problems with a template that will become a layer path: placeholders not
 * in `known`, and literal text that could leave its folder or is not a plain
 * relative path (absolute, "." or ".." segments, backslashes, empty segments,
 * control characters). "/" alone stands for the layer root. Parameter
 * values are single segments, checked per request, so only the literal text
 * can make a path escape.
 */
export function pathTemplateProblems(template: Template, known: ReadonlySet<string>): string[] {
  // "/" alone is the layer root (a listing or archive of the whole layer).
  if (template.source === '/') return [];
  const problems: string[] = [];
  for (const param of template.params) {
    if (!known.has(param)) problems.push(`"${template.source}" uses {${param}}, which is not a parameter of this route (${[...known].map((name) => `{${name}}`).join(', ') || 'none'})`);
  }
  // Each parameter stands for at least one safe character, so the literal skeleton shows the path's shape.
  const skeleton = template.parts.map((part) => ('literal' in part ? part.literal : 'x')).join('');
  if (skeleton.startsWith('/')) problems.push(`"${template.source}" must be relative to the layer root (no leading "/")`);
  if (skeleton.includes('\\')) problems.push(`"${template.source}" has a backslash; separate folders with "/"`);
  if (CONTROL.test(skeleton)) problems.push(`"${template.source}" has a control character`);
  const segments = skeleton.replace(/^\//, '').split('/');
  if (segments.some((segment) => segment === '')) problems.push(`"${template.source}" has an empty segment ("//", or a trailing "/")`);
  const literalSegments = template.source.replace(/^\//, '').split('/');
  if (literalSegments.some((segment) => segment === '.' || segment === '..')) problems.push(`"${template.source}" has a "." or ".." segment, which could leave its folder`);
  return problems;
}

/** Problems with an alias path: "/download/image/:id/:type", literal segments and whole-segment parameters only. */
export function aliasPathProblems(path: string): string[] {
  if (!path.startsWith('/') || path === '/') return [`"${path}" must start with "/" and name at least one segment`];
  const segments = path.slice(1).split('/');
  const bad = segments.filter((segment) => !PATH_SEGMENT.test(segment));
  if (bad.length > 0) return [`"${path}" has segments that are neither a literal (letters, digits, ".", "_", "~", "-") nor a whole ":param": ${bad.map((s) => JSON.stringify(s)).join(', ')}`];
  const names = segments.filter((segment) => segment.startsWith(':')).map((segment) => segment.slice(1));
  const repeated = names.filter((name, index) => names.indexOf(name) !== index);
  if (repeated.length > 0) return [`"${path}" names :${repeated[0]} twice`];
  return [];
}

/** The parameter names of an alias path, in order. */
export function aliasPathParams(path: string): string[] {
  return path.split('/').filter((segment) => segment.startsWith(':')).map((segment) => segment.slice(1));
}

/** True when `name` can be a template placeholder. */
export function isParamName(name: string): boolean {
  return NAME.test(name);
}

/**
 * Checks a request's value for a parameter: one path segment (not empty, not
 * "." or "..", no "/", backslash or control character, at most 255 bytes),
 * then the route's rule. Raises BAD_REQUEST naming the parameter.
 */
export function checkParamValue(name: string, value: string, rule: { readonly enum?: readonly string[]; readonly pattern?: RegExp } | undefined): void {
  const shown = JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
  if (value === '' || value === '.' || value === '..' || value.includes('/') || value.includes('\\') || CONTROL.test(value) || Buffer.byteLength(value) > 255) {
    fail('BAD_REQUEST', `the route parameter "${name}" must be one plain path segment, not ${shown}`);
  }
  if (rule?.enum && !rule.enum.includes(value)) fail('BAD_REQUEST', `the route parameter "${name}" must be one of ${rule.enum.join(', ')}, not ${shown}`);
  if (rule?.pattern && !rule.pattern.test(value)) fail('BAD_REQUEST', `the route parameter "${name}" does not match ${rule.pattern.source}: ${shown}`);
}

/** Fills a template with checked values. */
export function fillTemplate(template: Template, values: Readonly<Record<string, string>>): string {
  return template.parts.map((part) => ('literal' in part ? part.literal : values[part.param]!)).join('');
}
