// Builds Content-Disposition values (RFC 6266 with RFC 8187 encoding) that no file name can break.

export type DispositionType = 'attachment' | 'inline';

// Anything outside printable ASCII, plus the characters that would end or
// escape the quoted string, or that some browsers percent-decode.
const UNSAFE_FALLBACK = /[^\x20-\x7e]|["\\%]/g;
// Control characters, and the bidirectional controls (U+061C, U+200E/F,
// U+202A–202E, U+2066–2069) that make `invoice\u202Egpj.exe` display as
// "invoiceexe.jpg": a saved name carries none of them.
const UNSAVABLE = /[\u0000-\u001f\u007f-\u009f\p{Bidi_Control}]/gu;

/**
 * A name as it may be saved (a Content-Disposition filename, an archive
 * entry's segment): each control or bidirectional control character
 * replaced with "_", lone surrogates made well-formed.
 */
export function toSavedName(name: string): string {
  return name.toWellFormed().replace(UNSAVABLE, '_');
}

/**
 * `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded>`.
 * Control and bidi control characters become "_" (`toSavedName`), the fallback replaces every non-ASCII,
 * quote, backslash and percent sign with "_", and the RFC 8187 form encodes
 * everything outside attr-char, so neither parameter can end the header or
 * inject another. Lone surrogates are made well-formed first, so encoding
 * never throws.
 */
export function toContentDisposition(type: DispositionType, filename: string): string {
  const clean = toSavedName(filename) || 'download';
  const fallback = clean.replace(UNSAFE_FALLBACK, '_');
  return `${type}; filename="${fallback}"; filename*=UTF-8''${encodeRfc8187(clean)}`;
}

/** Percent-encodes all but RFC 8187 attr-char (encodeURIComponent also leaves ' ( ) * alone). */
function encodeRfc8187(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}
