// The dialog that makes a link needing no token (a file's signed URL, or a selection's archive link), shows when it expires, and copies it.

import { byId } from './dom.js';
import { formatFromNow, formatTime } from './format.js';

/** Makes the link for a lifetime in seconds: its absolute URL and its expiry (Unix seconds), which the service may have cut. */
export type MakeLink = (seconds: number) => Promise<{ url: string; expiry: number }>;

export class ShareDialog {
  private readonly dialog = byId<HTMLDialogElement>('share');
  private readonly ttl = byId<HTMLSelectElement>('share-ttl');
  private readonly url = byId<HTMLInputElement>('share-url');
  private readonly expiry = byId('share-expiry');
  private readonly status = byId('share-status');
  private readonly copy = byId<HTMLButtonElement>('share-copy');
  private make: MakeLink | null = null;
  private generation = 0;

  constructor() {
    this.ttl.addEventListener('change', () => void this.refresh());
    this.copy.addEventListener('click', () => void this.copyLink());
    byId('share-close').addEventListener('click', () => this.dialog.close());
    this.dialog.addEventListener('close', () => {
      this.make = null;
      this.generation += 1;
    });
  }

  /** Opens the dialog for `what` (words naming the file or selection) and makes its first link. */
  open(what: string, make: MakeLink): void {
    this.make = make;
    byId('share-what').textContent = what;
    this.dialog.showModal();
    void this.refresh();
  }

  private async refresh(): Promise<void> {
    if (this.make === null) return;
    const generation = ++this.generation;
    const seconds = Number(this.ttl.value);
    this.url.value = '';
    this.copy.disabled = true;
    this.expiry.textContent = '';
    this.status.textContent = 'Making the link…';
    try {
      const link = await this.make(seconds);
      if (generation !== this.generation) return;
      this.url.value = link.url;
      const asked = Date.now() + seconds * 1000;
      const cut = link.expiry * 1000 < asked - 60_000 ? ' (no later than your token)' : '';
      this.expiry.textContent = `Works without a token until ${formatTime(link.expiry * 1000)} (${formatFromNow(link.expiry * 1000, Date.now())})${cut}.`;
      this.status.textContent = '';
      this.copy.disabled = false;
      this.url.select();
    } catch (error) {
      if (generation === this.generation) this.status.textContent = `No link could be made: ${(error as Error).message}.`;
    }
  }

  private async copyLink(): Promise<void> {
    try {
      await navigator.clipboard.writeText(this.url.value);
      this.status.textContent = 'Copied.';
    } catch {
      // No clipboard here (an insecure origin, or refused): the link is selected for the reader to copy.
      this.url.focus();
      this.url.select();
      this.status.textContent = 'Press Ctrl+C (⌘C) to copy the selected link.';
    }
  }
}
