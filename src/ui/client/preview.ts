// The preview panel: a file shown by the browser's own element for its kind (image, audio and video with seeking, PDF) or its first part as text, always from a short-lived signed URL.

import type { Entry } from './api.js';
import { append, byId, h } from './dom.js';
import { formatSize, formatTime, previewKindOf } from './format.js';
import type { SignedUrls } from './signed-urls.js';

type FileEntry = Extract<Entry, { kind: 'file' }>;

/** How much of a text file is shown: its first 64 KB, asked for as one range. */
export const TEXT_PREVIEW_BYTES = 64 * 1024;

export interface PreviewActions {
  download(entry: FileEntry): void;
  share(entry: FileEntry): void;
  /** The panel closed, by its button or Escape: focus goes back to the entry. */
  closed(entry: FileEntry): void;
}

export class Preview {
  private readonly panel = byId('preview');
  private readonly body = byId('preview-body');
  private current: { fstype: string; entry: FileEntry } | null = null;
  // Bumped on every open and close, so a slow answer for a file no longer shown is dropped.
  private generation = 0;

  constructor(private readonly actions: PreviewActions) {
    byId('preview-close').addEventListener('click', () => this.close());
    byId('preview-download').addEventListener('click', () => this.current && this.actions.download(this.current.entry));
    byId('preview-link').addEventListener('click', () => this.current && this.actions.share(this.current.entry));
  }

  get isOpen(): boolean {
    return this.current !== null;
  }

  /** The path of the file shown, if any. */
  get shownPath(): string | null {
    return this.current?.entry.path ?? null;
  }

  /** Shows `entry` of `fstype`; without `urls` (a token that may not sign) it says so instead. */
  async open(fstype: string, entry: FileEntry, urls: SignedUrls | null): Promise<void> {
    this.stopMedia();
    const generation = ++this.generation;
    this.current = { fstype, entry };
    this.panel.hidden = false;
    document.body.classList.add('previewing');
    byId('preview-title').textContent = entry.name;
    byId('preview-meta').textContent = `${formatSize(entry.size)} · ${entry.mime} · modified ${formatTime(Date.parse(entry.modified))}`;
    byId<HTMLButtonElement>('preview-download').disabled = urls === null;
    byId<HTMLButtonElement>('preview-link').disabled = urls === null;
    this.body.replaceChildren();
    const kind = previewKindOf(entry.mime);
    if (urls === null) return this.say('Previews need a token that may make links (scope files:sign).');
    if (kind === 'none') return this.say('There is no preview for this kind of file; download it to open it.');
    this.say('Loading…');
    let url: string;
    try {
      url = await urls.one(fstype, entry.path, 'inline');
    } catch (error) {
      if (generation === this.generation) this.say(`This file cannot be shown: ${(error as Error).message}.`);
      return;
    }
    if (generation !== this.generation) return;
    this.body.replaceChildren();
    switch (kind) {
      case 'image':
        append(this.body, h('img', { src: url, alt: entry.name, class: 'preview-image' }));
        return;
      case 'video':
        append(this.body, h('video', { src: url, controls: true, preload: 'metadata', playsinline: true, class: 'preview-media' }));
        return;
      case 'audio':
        append(this.body, h('audio', { src: url, controls: true, preload: 'metadata', class: 'preview-media' }));
        return;
      case 'pdf':
        append(this.body, h('iframe', { src: url, title: `${entry.name} (PDF)`, class: 'preview-pdf' }));
        return;
      case 'text':
        await this.showText(url, entry, generation);
        return;
    }
  }

  /** Hides the panel and stops what plays in it. */
  close(): void {
    if (this.current === null) return;
    const { entry } = this.current;
    this.stopMedia();
    this.generation += 1;
    this.current = null;
    this.body.replaceChildren();
    this.panel.hidden = true;
    document.body.classList.remove('previewing');
    this.actions.closed(entry);
  }

  /** The file's first TEXT_PREVIEW_BYTES as UTF-8 text: one Range request, read no further than that. */
  private async showText(url: string, entry: FileEntry, generation: number): Promise<void> {
    try {
      const response = await fetch(url, { headers: { Range: `bytes=0-${TEXT_PREVIEW_BYTES - 1}` } });
      if (!response.ok) throw new Error(`the service answered ${response.status}`);
      const bytes = await readAtMost(response, TEXT_PREVIEW_BYTES);
      if (generation !== this.generation) return;
      const partial = entry.size > bytes.length;
      let text = new TextDecoder('utf-8').decode(bytes);
      // A cut in the middle of a character decodes as U+FFFD: drop it rather than show it.
      if (partial) text = text.replace(/\uFFFD+$/, '');
      this.body.replaceChildren(h('pre', { class: 'preview-text', tabindex: 0 }, text));
      if (partial) append(this.body, h('p', { class: 'preview-note' }, `The first ${formatSize(bytes.length)} of ${formatSize(entry.size)}; download the file for the rest.`));
    } catch (error) {
      if (generation === this.generation) this.say(`This file cannot be shown: ${(error as Error).message}.`);
    }
  }

  private say(text: string): void {
    this.body.replaceChildren(h('p', { class: 'preview-note' }, text));
  }

  private stopMedia(): void {
    for (const media of this.body.querySelectorAll('video, audio')) (media as HTMLMediaElement).pause();
  }
}

/** The body's first `limit` bytes, cancelling the rest (a service that ignored the Range sends the whole file). */
async function readAtMost(response: Response, limit: number): Promise<Uint8Array> {
  if (response.body === null) return new Uint8Array();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  while (length < limit) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    length += value.length;
  }
  if (length >= limit) await reader.cancel();
  const bytes = new Uint8Array(Math.min(length, limit));
  let offset = 0;
  for (const chunk of chunks) {
    const piece = chunk.subarray(0, bytes.length - offset);
    bytes.set(piece, offset);
    offset += piece.length;
    if (offset >= bytes.length) break;
  }
  return bytes;
}
