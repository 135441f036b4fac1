import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { withTopLevelKey } from '../../src/common/json-top-level-key.ts';

const pretty = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;

describe('withTopLevelKey', () => {
  it('replaces a top-level value and keeps every other byte, numbers as the file wrote them', () => {
    const text = '{\n  "a": 1e-06,\n  "loso": {\n    "x": [1, 2]\n  },\n  "riskBands": {"b": "}\\"{"}\n}\n';
    const out = withTopLevelKey(text, 'loso', { y: 2 });
    assert.equal(out, '{\n  "a": 1e-06,\n  "loso": {\n    "y": 2\n  },\n  "riskBands": {"b": "}\\"{"}\n}\n');
    assert.deepEqual(JSON.parse(out), { a: 1e-6, loso: { y: 2 }, riskBands: { b: '}"{' } });
  });

  it('leaves keys of the same name in nested objects alone', () => {
    const text = pretty({ inner: { loso: 1 }, list: [{ loso: 2 }] });
    const out = withTopLevelKey(text, 'loso', 3);
    assert.deepEqual(JSON.parse(out), { inner: { loso: 1 }, list: [{ loso: 2 }], loso: 3 });
  });

  it('appends a missing key as the last member, also to an empty object', () => {
    assert.equal(withTopLevelKey('{\n  "a": true\n}\n', 'b', [1]), '{\n  "a": true,\n  "b": [\n    1\n  ]\n}\n');
    assert.deepEqual(JSON.parse(withTopLevelKey('{}\n', 'b', 'x')), { b: 'x' });
  });

  it('replaces the last member without touching the closing brace', () => {
    assert.equal(withTopLevelKey('{\n  "a": 1,\n  "b": null\n}\n', 'b', false), '{\n  "a": 1,\n  "b": false\n}\n');
  });

  it('gives the object with the key set, for any object and value (property)', () => {
    const json = fc.jsonValue({ maxDepth: 3 });
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 6 }), json, { maxKeys: 6 }), fc.string({ maxLength: 6 }), json, (obj, key, value) => {
        const out = withTopLevelKey(pretty(obj), key, value);
        const expected: Record<string, unknown> = JSON.parse(JSON.stringify(obj));
        expected[key] = JSON.parse(JSON.stringify(value ?? null));
        assert.deepEqual(JSON.parse(out), expected);
        assert.equal(withTopLevelKey(out, key, value), out, 'setting the same value again changes nothing');
      }),
      { numRuns: 300 },
    );
  });
});
