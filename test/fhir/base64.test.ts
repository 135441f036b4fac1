/**
 * decodeBase64 has a fast path for canonical base64 (a decode/encode round trip instead of a
 * regular expression). It must accept, refuse and return exactly what the strict definition does.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeBase64 } from '../../src/fhir/base64.ts';

/** The strict definition (RFC 4648 section 4, whitespace allowed, padding optional but not misplaced), without the fast path. */
function strictDecode(text: string, maxBytes: number): Buffer | 'invalid' | 'too big' {
  const compact = text.replace(/[\t\n\r ]+/g, '');
  const padded = compact.endsWith('=');
  if (compact === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 === 1 || (padded && compact.length % 4 !== 0)) {
    return 'invalid';
  }
  if (Math.floor((compact.replace(/=+$/, '').length * 3) / 4) > maxBytes) {
    return 'too big';
  }
  return Buffer.from(compact, 'base64');
}

function actual(text: string, maxBytes: number): Buffer | 'invalid' | 'too big' {
  try {
    return decodeBase64(text, maxBytes, 'x');
  } catch (err) {
    return (err as Error).message.includes('limit') ? 'too big' : 'invalid';
  }
}

const base64Char = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n!'.split(''));

describe('decodeBase64 fast path', () => {
  it('agrees with the strict definition on encodings of random bytes, padded or not, with or without line breaks', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 80 }), (bytes, pad, wrap, maxBytes) => {
        let text = Buffer.from(bytes).toString('base64');
        if (!pad) {
          text = text.replace(/=+$/, '');
        }
        if (wrap) {
          text = text.replace(/(.{8})/g, '$1\r\n');
        }
        assert.deepEqual(actual(text, maxBytes), strictDecode(text, maxBytes));
      }),
    );
  });

  it('agrees with the strict definition on arbitrary strings over the alphabet and its near misses', () => {
    fc.assert(
      fc.property(fc.array(base64Char, { maxLength: 24 }).map((cs) => cs.join('')), (text) => {
        assert.deepEqual(actual(text, 100), strictDecode(text, 100));
      }),
      { numRuns: 2000 },
    );
  });

  it('still accepts non-canonical trailing bits, as the strict definition does', () => {
    assert.deepEqual(decodeBase64('QR==', 10, 'x'), Buffer.from('A'));
    assert.deepEqual(decodeBase64('QR', 10, 'x'), Buffer.from('A'));
  });
});
