import { OperationOutcomeError, tooCostly, unprocessable } from '../common/outcomes.ts';

/**
 * Strict base64 (RFC 4648 section 4, the FHIR base64Binary alphabet): whitespace such as MIME line
 * breaks is allowed, base64url characters and misplaced padding are not. Missing padding is
 * tolerated since it loses nothing. The size is checked before decoding.
 */
export function decodeBase64(text: string, maxBytes: number, where: string): Buffer {
  const canonical = tryDecodeCanonicalBase64(text, maxBytes);
  if (canonical) {
    return canonical;
  }
  const compact = text.replace(/[\t\n\r ]+/g, '');
  if (compact === '') {
    throw new OperationOutcomeError(unprocessable('attachment data is empty', where));
  }
  const padded = compact.endsWith('=');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 === 1 || (padded && compact.length % 4 !== 0)) {
    throw new OperationOutcomeError(unprocessable('attachment data is not valid base64', where));
  }
  const decodedLength = Math.floor((compact.replace(/=+$/, '').length * 3) / 4);
  if (decodedLength > maxBytes) {
    throw new OperationOutcomeError(tooCostly(`attachment data is ${decodedLength} bytes; the limit is ${maxBytes}`, where));
  }
  return Buffer.from(compact, 'base64');
}

/** Char codes of the base64 alphabet (RFC 4648 section 4). */
const BASE64_ALPHABET = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') {
  BASE64_ALPHABET[c.charCodeAt(0)] = 1;
}
const PAD = 0x3d;

/**
 * The common case, fast: no whitespace. The same rules as the strict path, checked with one loop
 * over char codes instead of a whitespace replace and a regular expression over the whole text
 * (together ~10 ms for a 2 MP image; bench/README.md). Anything else (whitespace, a bad character)
 * goes to the strict path, so what is accepted, refused and returned is unchanged.
 */
function tryDecodeCanonicalBase64(text: string, maxBytes: number): Buffer | undefined {
  const n = text.length;
  let end = n;
  while (end > 0 && n - end < 2 && text.charCodeAt(end - 1) === PAD) {
    end--;
  }
  const padded = end < n;
  if (end === 0 || n % 4 === 1 || (padded && n % 4 !== 0) || Math.floor((end * 3) / 4) > maxBytes) {
    return undefined;
  }
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c > 127 || BASE64_ALPHABET[c] === 0) {
      return undefined;
    }
  }
  return Buffer.from(text, 'base64');
}
