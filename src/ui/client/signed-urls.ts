// Short-lived signed URLs for the files the page shows, asked for in batches and kept while they last, so the browser's own cache and range requests see one stable URL per file.

import { toSameOrigin, type Api, type SignOutcome } from './api.js';

/** The most files POST /api/sign/batch takes at once (MAX_BATCH_FILES). */
const BATCH = 100;

// A URL with less than this left is not handed out again: a video started on it must still be able to ask for its ranges.
const MARGIN_MS = 5 * 60_000;

export type Disposition = 'inline' | 'attachment';

/** A signed URL on the page's own origin, or why the file could not be signed. */
export type SignedOrRefused = { url: string; expiry: number } | { error: string; code: string };

export class SignedUrls {
  private readonly kept = new Map<string, { url: string; expiry: number }>();

  constructor(private readonly api: Api) {}

  /** URLs for `paths` of `fstype`, by path: those still kept, the rest signed in batches. Throws an ApiError when a whole batch is refused. */
  async get(fstype: string, paths: readonly string[], disposition: Disposition): Promise<Map<string, SignedOrRefused>> {
    const found = new Map<string, SignedOrRefused>();
    const missing: string[] = [];
    for (const filepath of new Set(paths)) {
      const kept = this.kept.get(key(fstype, filepath, disposition));
      if (kept !== undefined && kept.expiry * 1000 - Date.now() > MARGIN_MS) found.set(filepath, kept);
      else missing.push(filepath);
    }
    for (let start = 0; start < missing.length; start += BATCH) {
      const outcomes = await this.api.signBatch(fstype, missing.slice(start, start + BATCH), disposition);
      for (const outcome of outcomes) found.set(outcome.filepath, this.keep(fstype, disposition, outcome));
    }
    return found;
  }

  /** One file's URL; throws an ApiError with the file's own refusal. */
  async one(fstype: string, filepath: string, disposition: Disposition): Promise<string> {
    const outcome = (await this.get(fstype, [filepath], disposition)).get(filepath);
    if (outcome === undefined) throw new Error(`no URL came back for ${filepath}`);
    if ('error' in outcome) throw Object.assign(new Error(outcome.error), { code: outcome.code });
    return outcome.url;
  }

  private keep(fstype: string, disposition: Disposition, outcome: SignOutcome): SignedOrRefused {
    if ('error' in outcome) return { error: outcome.error, code: outcome.code };
    const signed = { url: toSameOrigin(outcome.download_url), expiry: outcome.expiry };
    this.kept.set(key(fstype, outcome.filepath, disposition), signed);
    return signed;
  }
}

const key = (fstype: string, filepath: string, disposition: Disposition) => `${disposition}\u0000${fstype}\u0000${filepath}`;
