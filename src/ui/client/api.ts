// The browse page's calls to filegate's public API, with the token in the Authorization header; every failure becomes an ApiError carrying the service's code and words.

/** A listing entry, as GET /api/list answers it. */
export type Entry =
  | { kind: 'file'; name: string; path: string; size: number; modified: string; mime: string; type: string | null; download_url: string }
  | { kind: 'directory'; name: string; path: string; modified: string; list_url: string };

export interface ListingPage {
  fstype: string;
  path: string;
  entries: Entry[];
  total: number;
  next_cursor: string | null;
}

export interface Access {
  subject: string | null;
  scopes: string[];
  paths: string[] | null;
  expires_at: string | null;
  layers: Array<{ fstype: string; default: boolean }>;
}

export interface SignedFile {
  filepath: string;
  download_url: string;
  head_url: string;
  expiry: number;
}

export type SignOutcome = SignedFile | { filepath: string; error: string; code: string };

export interface ArchiveLink {
  download_url: string;
  expiry: number;
  entries: number;
  skipped: number;
  bytes: number;
}

/** A refusal or failure of the service: its status, its code and its message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class Api {
  constructor(private readonly token: string) {}

  /** GET /api/access: what the token may do and which layers it may name. */
  access(): Promise<Access> {
    return this.call('GET', '/api/access');
  }

  /** One page of a listing (`toListUrl` builds the URL). */
  list(url: string, signal: AbortSignal): Promise<ListingPage> {
    return this.call('GET', url, undefined, signal);
  }

  /** POST /api/sign for one file. */
  sign(fstype: string, filepath: string, disposition: 'inline' | 'attachment', expiresIn?: number): Promise<SignedFile> {
    return this.call('POST', '/api/sign', { fstype, filepath, disposition, ...(expiresIn === undefined ? {} : { expires_in: expiresIn }) });
  }

  /** POST /api/sign/batch: one outcome per file, in order. */
  async signBatch(fstype: string, filepaths: readonly string[], disposition: 'inline' | 'attachment'): Promise<SignOutcome[]> {
    const answer = await this.call<{ files: SignOutcome[] }>('POST', '/api/sign/batch', { fstype, filepaths, disposition });
    return answer.files;
  }

  /** POST /api/sign/archive: a link starting a ZIP of `paths` without a token. */
  signArchive(fstype: string, paths: readonly string[], name: string | undefined, expiresIn: number): Promise<ArchiveLink> {
    return this.call('POST', '/api/sign/archive', { fstype, paths, format: 'zip', expires_in: expiresIn, ...(name === undefined ? {} : { name }) });
  }

  private async call<T>(method: 'GET' | 'POST', url: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const init: RequestInit = { method, headers, cache: 'no-store', credentials: 'omit' };
    if (body !== undefined) init.body = JSON.stringify(body);
    if (signal !== undefined) init.signal = signal;
    const response = await fetch(url, init);
    if (!response.ok) {
      const problem = (await response.json().catch(() => null)) as { error?: unknown; code?: unknown } | null;
      const message = typeof problem?.error === 'string' ? problem.error : `the service answered ${response.status} ${response.statusText}`;
      throw new ApiError(response.status, typeof problem?.code === 'string' ? problem.code : `HTTP_${response.status}`, message);
    }
    return (await response.json()) as T;
  }
}

/** The signed URL as a path on this page's own origin: a signature covers the method, path and query, never the host, so the page loads it from where the page came from (its policy allows nothing else). */
export function toSameOrigin(signedUrl: string): string {
  const url = new URL(signedUrl, location.href);
  return url.pathname + url.search;
}
