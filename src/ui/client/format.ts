// How the browse page words sizes, times, expiries and what a file can be previewed as; no DOM, so Node tests run it too.

const UNITS = ['KB', 'MB', 'GB', 'TB'];

/** Bytes as a person reads them, in binary multiples as the service's config takes them (1 KB = 1024 bytes): "512 B", "1.5 KB", "34 MB". */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes;
  let unit = -1;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = value < 10 ? value.toFixed(1).replace(/\.0$/, '') : String(Math.round(value));
  return `${shown} ${UNITS[unit]}`;
}

const pad = (value: number) => String(value).padStart(2, '0');

/** A moment in the reader's local time, to the minute: "2026-03-01 14:05". */
export function formatTime(ms: number): string {
  const date = new Date(ms);
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** How far away `targetMs` is from `nowMs`, in the largest whole unit: "in 45 s", "in 59 min", "in 2 h", "in 7 days"; "now past" once it has gone by. */
export function formatFromNow(targetMs: number, nowMs: number): string {
  const seconds = Math.floor((targetMs - nowMs) / 1000);
  if (seconds <= 0) return 'now past';
  if (seconds < 60) return `in ${seconds} s`;
  if (seconds < 3600) return `in ${Math.floor(seconds / 60)} min`;
  if (seconds < 86_400 * 2) return `in ${Math.floor(seconds / 3600)} h`;
  return `in ${Math.floor(seconds / 86_400)} days`;
}

/** How a file is shown in the preview: by the browser's own element for its kind, its first part as text, or not at all. */
export type PreviewKind = 'image' | 'video' | 'audio' | 'pdf' | 'text' | 'none';

// Types that are text whatever their top-level type says.
const TEXT_APPLICATION_TYPES = new Set(['application/json', 'application/ld+json', 'application/x-ndjson', 'application/xml', 'application/yaml', 'application/x-yaml', 'application/toml']);

/** The preview of a file of media type `mime` (as a listing gives it, no parameters). */
export function previewKindOf(mime: string): PreviewKind {
  if (mime.startsWith('image/')) return 'image';
  if (mime.startsWith('video/')) return 'video';
  if (mime.startsWith('audio/')) return 'audio';
  if (mime === 'application/pdf') return 'pdf';
  if (mime.startsWith('text/') || TEXT_APPLICATION_TYPES.has(mime)) return 'text';
  return 'none';
}

/** The icon of an entry: its category, "folder", or "file" for a type in no category. */
export function iconOf(entry: { kind: 'file' | 'directory'; type?: string | null }): string {
  if (entry.kind === 'directory') return 'folder';
  return entry.type ?? 'file';
}

/**
 * True when a folder's page reads best as a grid of thumbnails: most of its
 * files (at least two, and at least 60 %) are images.
 */
export function isImageFolder(files: ReadonlyArray<{ type: string | null }>): boolean {
  const images = files.filter((file) => file.type === 'image').length;
  return images >= 2 && images >= files.length * 0.6;
}
