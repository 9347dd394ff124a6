// The text filegate prints on stderr when it starts in development mode: where its secret came from, and a ready curl command (or why there is none).

import { formatBytes } from '../files/file-policy.js';
import type { FilePolicy } from '../files/file-policy.js';
import type { SampleFile } from './find-sample-file.js';

export interface BannerFacts {
  /** The development secret's file as a person should read it (relative to the working directory when inside it). */
  readonly secretFile: string;
  /** True when this start made the secret; false when an earlier run's was reused. */
  readonly secretMade: boolean;
  /** A token for the banner's command, and how long it lasts, in hours. */
  readonly token: string;
  readonly tokenHours: number;
  /** Where a client on this machine reaches the service, e.g. "http://localhost:8080". */
  readonly origin: string;
  readonly layer: { readonly name: string; readonly root: string; readonly policy: FilePolicy };
  readonly sample: SampleFile;
  /** The walk's bounds, for the line that explains an empty result. */
  readonly walk: { readonly maxEntries: number; readonly maxDepth: number };
  /** A token for the browse page (listing, reading, signing, archives), when the page is on. */
  readonly browseToken?: string | undefined;
}

/** The banner's lines, ending with a newline; pure, so each case is a row of a table test. */
export function formatDevelopmentBanner(facts: BannerFacts): string {
  const secret = facts.secretMade
    ? `no JWT key is configured, so a development secret was made and kept in ${facts.secretFile}.`
    : `no JWT key is configured, so the development secret an earlier run kept in ${facts.secretFile} is used (tokens minted with it still work).`;
  const lines = ['', `filegate is running in development mode: ${secret}`];
  if (facts.sample.filepath !== null) {
    lines.push(
      `Download a sample file of layer "${facts.layer.name}" with this token (valid ${facts.tokenHours} hours):`,
      '',
      `curl -OJ -H "Authorization: Bearer ${facts.token}" '${toDownloadUrl(facts.origin, facts.sample.filepath)}'`,
    );
  } else {
    lines.push(`No download command: ${whyNoSample(facts)}.`, `A token for your own requests (valid ${facts.tokenHours} hours):`, '', facts.token);
  }
  if (facts.browseToken !== undefined) {
    // In the fragment: a browser never sends it to a server, so it reaches no log.
    lines.push('', 'Browse the files in a browser:', '', `${facts.origin}/#token=${facts.browseToken}`);
  }
  lines.push('', 'More tokens: npm run token -- --sub alice --scope files:read', '');
  return lines.join('\n');
}

/**
 * The download URL of `filepath` on the default layer. Every byte but
 * unreserved characters (RFC 3986 section 2.3) and "/" is percent-encoded:
 * the query parser reads "+" as a space, and a "'" would end the shell's
 * single quotes around the URL.
 */
export function toDownloadUrl(origin: string, filepath: string): string {
  const encoded = encodeURIComponent(filepath)
    .replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%2F/g, '/');
  return `${origin}/api/download?filepath=${encoded}`;
}

/** One sentence on why the banner has no command, naming what to change. */
function whyNoSample(facts: BannerFacts): string {
  const { layer, sample } = facts;
  if (sample.filepath !== null) return '';
  if (sample.cause === 'root-unreadable') {
    // The example configs name roots that `npm run example` writes.
    const example = /^var\/examples\/([A-Za-z0-9_-]+)$/.exec(layer.root);
    const hint = example ? `; npm run example -- ${example[1]} writes its sample files` : '';
    return `the root of layer "${layer.name}" (${layer.root}) does not exist or cannot be read${hint}`;
  }
  const looked = sample.exhausted ? `among the first ${facts.walk.maxEntries} entries` : `within ${facts.walk.maxDepth} folder levels`;
  return `layer "${layer.name}" (${layer.root}) has no file it serves (${describePolicy(layer.policy)}) ${looked}`;
}

/** What a file policy lets through, in a few words: "types video, audio; up to 20 GB; not empty". */
function describePolicy(policy: FilePolicy): string {
  const kinds = policy.extensions ? `extensions ${policy.extensions.join(', ')}` : policy.types ? `types ${policy.types.join(', ')}` : 'any type';
  return `${kinds}; up to ${formatBytes(policy.maxFileSize)}; ${policy.allowEmpty ? 'empty or not' : 'not empty'}`;
}
