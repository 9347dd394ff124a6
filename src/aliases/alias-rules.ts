// Route aliases as configured: their schema, every start-up check, and the compiled form the router mounts.

import { z } from 'zod';
import type { Scope } from '../config/schema.js';
import { aliasPathParams, aliasPathProblems, parseTemplate, pathTemplateProblems, type Template } from './template.js';

export const ALIAS_ACTIONS = ['filepath', 'archive', 'list', 'presign', 'package'] as const;
export type AliasAction = (typeof ALIAS_ACTIONS)[number];

/** The scope each action needs, as its built-in endpoint does. */
export const ACTION_SCOPES: Record<AliasAction, Scope> = {
  filepath: 'files:read',
  archive: 'files:archive',
  list: 'files:list',
  presign: 'files:sign',
  package: 'files:archive',
};

// Paths the service answers itself (the browse page's among them); an alias may not take them, nor anything under /api/ or /assets/.
const BUILT_IN_PATHS = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json', '/', '/favicon.ico']);
const BUILT_IN_PREFIXES = ['/api', '/assets'];

// Options that mean something for one action or another; any other pairing is a mistake in the config.
const OPTIONS_BY_ACTION: Record<AliasAction, readonly string[]> = {
  filepath: ['filename', 'types', 'extensions', 'missing', 'disposition'],
  archive: ['filename', 'format'],
  list: ['prefix'],
  presign: ['types', 'extensions', 'disposition', 'expires_in'],
  package: ['filename', 'format'],
};
const ACTION_OPTIONS = ['filename', 'types', 'extensions', 'missing', 'disposition', 'format', 'prefix', 'expires_in'] as const;

/** A configured parameter rule: a list of allowed values, or a pattern the whole value must match. */
const paramRuleSchema = z.union([
  z.array(z.string().min(1)).min(1),
  z.strictObject({ enum: z.array(z.string().min(1)).min(1) }),
  z.strictObject({ pattern: z.string().min(1) }),
]);

/** Builds the schema of one alias from the config schema's own pieces (layer names, categories, durations). */
export function createRouteAliasSchema<TCategory extends z.ZodType, TExtension extends z.ZodType, TDuration extends z.ZodType>(pieces: {
  category: TCategory;
  extension: TExtension;
  duration: TDuration;
}) {
  return z.strictObject({
    path: z.string().min(1),
    method: z.enum(['GET', 'POST', 'PUT']).optional(),
    fstype: z.string().min(1).optional(),
    params: z.record(z.string(), paramRuleSchema).default({}),
    filepath: z.string().min(1).optional(),
    archive: z.string().min(1).optional(),
    list: z.string().min(1).optional(),
    presign: z.string().min(1).optional(),
    /** List name → item template: `{"inputs": "aoi/{aoi_id}/inputs/{item}"}`. */
    package: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a list name is letters, digits and "_"'), z.string().min(1)).optional(),
    filename: z.string().min(1).optional(),
    types: z.array(pieces.category).min(1).optional(),
    extensions: z.array(pieces.extension).min(1).optional(),
    missing: z.enum(['not-found', 'conflict']).optional(),
    disposition: z.enum(['attachment', 'inline']).optional(),
    format: z.enum(['zip', 'tar.gz']).optional(),
    prefix: z.string().min(1).optional(),
    expires_in: pieces.duration.optional(),
  });
}

/** One alias as validated by the schema (durations in milliseconds). */
export interface RouteAliasConfig {
  readonly path: string;
  readonly method?: 'GET' | 'POST' | 'PUT' | undefined;
  readonly fstype?: string | undefined;
  readonly params: Readonly<Record<string, readonly string[] | { readonly enum: readonly string[] } | { readonly pattern: string }>>;
  readonly filepath?: string | undefined;
  readonly archive?: string | undefined;
  readonly list?: string | undefined;
  readonly presign?: string | undefined;
  readonly package?: Readonly<Record<string, string>> | undefined;
  readonly filename?: string | undefined;
  readonly types?: readonly string[] | undefined;
  readonly extensions?: readonly string[] | undefined;
  readonly missing?: 'not-found' | 'conflict' | undefined;
  readonly disposition?: 'attachment' | 'inline' | undefined;
  readonly format?: 'zip' | 'tar.gz' | undefined;
  readonly prefix?: string | undefined;
  readonly expires_in?: number | undefined;
}

/** A problem with one alias, under the config key it concerns. */
export interface AliasProblem {
  readonly path: Array<string | number>;
  readonly message: string;
}

/** An alias ready to mount: its action, method, scope, parsed templates and parameter rules. */
export interface CompiledAlias {
  readonly config: RouteAliasConfig;
  readonly action: AliasAction;
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly scope: Scope;
  /** The action's template (a file, folder or presigned file); empty for packages. */
  readonly target: Template | null;
  /** Package list name → item template. */
  readonly lists: ReadonlyMap<string, Template>;
  readonly filename: Template | null;
  readonly prefix: Template | null;
  readonly rules: ReadonlyMap<string, { readonly enum?: readonly string[]; readonly pattern?: RegExp }>;
  readonly params: readonly string[];
}

/**
 * Checks every alias and compiles the good ones. A bad alias is reported,
 * not compiled: an unknown parameter in a template, a template that could
 * leave its folder, a path that clashes with a built-in route or another
 * alias, a rule for a parameter the path does not have, a pattern that is
 * not a regular expression, an fstype that is not configured, no action or
 * two, and options that do not belong to the action.
 */
export function compileRouteAliases(aliases: readonly RouteAliasConfig[], layerNames: readonly string[]): { aliases: CompiledAlias[]; problems: AliasProblem[] } {
  const problems: AliasProblem[] = [];
  const compiled: CompiledAlias[] = [];
  const seen = new Map<string, number>();
  aliases.forEach((alias, index) => {
    const at = (...key: Array<string | number>) => ['routes', index, ...key];
    const before = problems.length;
    const report = (key: Array<string | number>, message: string) => problems.push({ path: at(...key), message });

    for (const message of aliasPathProblems(alias.path)) report(['path'], message);
    if (BUILT_IN_PATHS.has(alias.path) || BUILT_IN_PREFIXES.some((prefix) => alias.path === prefix || alias.path.startsWith(`${prefix}/`))) {
      report(['path'], `"${alias.path}" clashes with a built-in route; aliases may not use ${BUILT_IN_PREFIXES.map((prefix) => `${prefix}/`).join(', ')} or ${[...BUILT_IN_PATHS].join(', ')}`);
    }
    const actions = ALIAS_ACTIONS.filter((action) => alias[action] !== undefined);
    if (actions.length !== 1) {
      report([], actions.length === 0 ? `give one action: ${ALIAS_ACTIONS.join(', ')}` : `give one action, not ${actions.join(' and ')}`);
      return;
    }
    const action = actions[0]!;
    const method = alias.method ?? (action === 'package' ? 'POST' : 'GET');
    if (action === 'package' ? method === 'GET' : method !== 'GET') {
      report(['method'], action === 'package' ? 'a package alias takes a JSON body: use POST or PUT' : `a ${action} alias answers GET (and HEAD), not ${method}`);
    }
    for (const option of ACTION_OPTIONS) {
      if (alias[option] !== undefined && !OPTIONS_BY_ACTION[action].includes(option)) report([option], `"${option}" does not apply to a ${action} alias`);
    }
    if (alias.types && alias.extensions) report(['types'], 'give either "types" or "extensions", not both');
    if (alias.fstype !== undefined && !layerNames.includes(alias.fstype)) {
      report(['fstype'], `"${alias.fstype}" is not one of the configured layers (${layerNames.join(', ')})`);
    }
    const key = `${method} ${alias.path.replace(/:[A-Za-z0-9_]+/g, ':')}`;
    if (seen.has(key)) report(['path'], `"${alias.path}" (${method}) is already served by route ${seen.get(key)}`);
    else seen.set(key, index);

    const params = aliasPathParams(alias.path);
    const known = new Set(params);
    const rules = new Map<string, { enum?: readonly string[]; pattern?: RegExp }>();
    for (const [name, rule] of Object.entries(alias.params)) {
      if (!known.has(name)) {
        report(['params', name], `"${alias.path}" has no parameter :${name}`);
        continue;
      }
      if ('enum' in rule) rules.set(name, { enum: rule.enum });
      else if ('pattern' in rule) {
        try {
          rules.set(name, { pattern: new RegExp(`^(?:${rule.pattern})$`, 'u') });
        } catch (error) {
          report(['params', name, 'pattern'], `not a regular expression: ${(error as Error).message}`);
        }
      } else rules.set(name, { enum: rule });
    }

    const pathTemplate = (source: string, key: Array<string | number>, names: ReadonlySet<string>): Template | null => {
      const template = parseTemplate(source);
      if (typeof template === 'string') {
        report(key, template);
        return null;
      }
      for (const message of pathTemplateProblems(template, names)) report(key, message);
      return template;
    };
    const nameTemplate = (source: string | undefined, key: string): Template | null => {
      if (source === undefined) return null;
      const template = parseTemplate(source);
      if (typeof template === 'string') {
        report([key], template);
        return null;
      }
      const unknown = template.params.filter((name) => !known.has(name));
      if (unknown.length > 0) report([key], `"${source}" uses {${unknown[0]}}, which is not a parameter of this route`);
      if (/[/\\\u0000-\u001f]/.test(template.parts.map((part) => ('literal' in part ? part.literal : '')).join(''))) {
        report([key], `"${source}" must be a plain name: no "/", backslash or control character`);
      }
      return template;
    };

    const target = action === 'package' ? null : pathTemplate(alias[action] as string, [action], known);
    const lists = new Map<string, Template>();
    if (action === 'package') {
      const entries = Object.entries(alias.package!);
      if (entries.length === 0) report(['package'], 'name at least one list, e.g. {"inputs": "jobs/{job_id}/inputs/{item}"}');
      const withItem = new Set([...known, 'item']);
      if (known.has('item')) report(['path'], '":item" is reserved for the items of package lists');
      for (const [name, source] of entries) {
        const template = pathTemplate(source, ['package', name], withItem);
        if (template && !template.params.includes('item')) report(['package', name], `"${source}" must place each item with {item}`);
        if (template) lists.set(name, template);
      }
    }
    const filename = nameTemplate(alias.filename, 'filename');
    const prefix = nameTemplate(alias.prefix, 'prefix');
    if (problems.length > before) return;
    compiled.push({ config: alias, action, method, scope: ACTION_SCOPES[action], target, lists, filename, prefix, rules, params });
  });
  return { aliases: compiled, problems };
}
