// Builds Content-Disposition values (RFC 6266 with RFC 8187 encoding) that no file name can break.

export type DispositionType = 'attachment' | 'inline';

// Anything outside printable ASCII, plus the characters that would end or
// escape the quoted string, or that some browsers percent-decode.
const UNSAFE_FALLBACK = /[^\x20-\x7e]|["\\%]/g;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded>`.
 * Control characters become "_", the fallback replaces every non-ASCII,
 * quote, backslash and percent sign with "_", and the RFC 8187 form encodes
 * everything outside attr-char, so neither parameter can end the header or
 * inject another. Lone surrogates are made well-formed first, so encoding
 * never throws.
 */
export function toContentDisposition(type: DispositionType, filename: string): string {
  const clean = filename.toWellFormed().replace(CONTROL, '_') || 'download';
  const fallback = clean.replace(UNSAFE_FALLBACK, '_');
  return `${type}; filename="${fallback}"; filename*=UTF-8''${encodeRfc8187(clean)}`;
}

/** Percent-encodes all but RFC 8187 attr-char (encodeURIComponent also leaves ' ( ) * alone). */
function encodeRfc8187(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}
