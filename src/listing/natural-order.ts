// Compares file names the way people read them: "file2" before "file10", case aside, and never two names equal.

const ZERO = 48;
const NINE = 57;

function isDigit(code: number): boolean {
  return code >= ZERO && code <= NINE;
}

/** A code unit with its case folded: ASCII directly, others through toLowerCase (rare, so not on the hot path). */
function fold(code: number): number {
  if (code < 128) return code >= 65 && code <= 90 ? code + 32 : code;
  return String.fromCharCode(code).toLowerCase().charCodeAt(0);
}

/**
 * Orders two names naturally: runs of ASCII digits compare by their numeric
 * value ("file2" < "file10", "v1.9" < "v1.10"; any length, no overflow),
 * everything else code unit by code unit with case folded ("Apple" next to
 * "apple"). Names equal in that sense (case, or leading zeros: "file01" and
 * "file1") fall back to the raw code-unit order, so the order is total:
 * only identical names compare as 0, and a listing's order is the same on
 * every replica whatever its locale. Allocates nothing for ASCII names.
 */
export function compareNatural(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    if (isDigit(ca) && isDigit(cb)) {
      // Skip leading zeros, then a longer run is a larger number; equal lengths compare digit by digit.
      let startA = i;
      let startB = j;
      while (startA < a.length && a.charCodeAt(startA) === ZERO) startA += 1;
      while (startB < b.length && b.charCodeAt(startB) === ZERO) startB += 1;
      let endA = startA;
      let endB = startB;
      while (endA < a.length && isDigit(a.charCodeAt(endA))) endA += 1;
      while (endB < b.length && isDigit(b.charCodeAt(endB))) endB += 1;
      const lengths = endA - startA - (endB - startB);
      if (lengths !== 0) return lengths;
      for (let k = 0; k < endA - startA; k += 1) {
        const digits = a.charCodeAt(startA + k) - b.charCodeAt(startB + k);
        if (digits !== 0) return digits;
      }
      i = endA;
      j = endB;
      continue;
    }
    // A digit against any other character compares as that character: digits
    // are contiguous in ASCII, so every run of digits sits on the same side.
    const folded = fold(ca) - fold(cb);
    if (folded !== 0) return folded;
    i += 1;
    j += 1;
  }
  const rest = a.length - i - (b.length - j);
  if (rest !== 0) return rest;
  return a < b ? -1 : a > b ? 1 : 0;
}
