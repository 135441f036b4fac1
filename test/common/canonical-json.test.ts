import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalDigest, canonicalJson } from '../../src/common/canonical-json.ts';

describe('canonicalJson', () => {
  it('sorts keys at every level and keeps array order', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } }), '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
  });
  it('gives one digest for the same value however it was written', () => {
    const a = JSON.parse('{"x": 1, "y": [1, 2]}');
    const b = JSON.parse('{\n  "y": [1,2],\n  "x": 1\n}');
    assert.equal(canonicalDigest(a), canonicalDigest(b));
    assert.notEqual(canonicalDigest(a), canonicalDigest({ x: 1, y: [2, 1] }));
    assert.match(canonicalDigest(a), /^[0-9a-f]{64}$/);
  });
});
