import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCsv, parseLabels } from '../../../src/tools/evaluation/labels.ts';

const HEADER = 'image,mask,group,source,diagnosis,bcc,pigment_network,arborizing_telangiectasia';

describe('parseCsv', () => {
  it('handles quoted commas, doubled quotes, line breaks in quotes and CRLF', () => {
    const text = 'a,"b,c","d ""e"""\r\n1,,3\n"x\ny",2,\n';
    assert.deepEqual(parseCsv(text), [
      ['a', 'b,c', 'd "e"'],
      ['1', '', '3'],
      ['x\ny', '2', ''],
    ]);
  });

  it('keeps a last record without a line break and ignores a BOM', () => {
    assert.deepEqual(parseCsv('\ufeffa,b\n1,2'), [
      ['a', 'b'],
      ['1', '2'],
    ]);
  });

  it('rejects an unterminated quote', () => {
    assert.throws(() => parseCsv('a,"b\n'), /quoted field/);
  });
});

describe('parseLabels', () => {
  it('reads labels, masks, groups and pattern cells (empty = not annotated)', () => {
    const rows = parseLabels(
      [
        HEADER,
        'ham/a.jpg,ham/masks/a.png,ham:L1,ham10000,bcc,1,,',
        'd7/b.jpg,,d7:2,derm7pt,"basal cell carcinoma, nodular",0,1,0',
        '',
        'd7/c.jpg,,,derm7pt,nevus,,0,1',
      ].join('\n'),
    );
    assert.equal(rows.length, 3);
    assert.deepEqual(rows[0], {
      line: 2,
      image: 'ham/a.jpg',
      mask: 'ham/masks/a.png',
      group: 'ham:L1',
      source: 'ham10000',
      diagnosis: 'bcc',
      bcc: 1,
      patterns: { pigment_network: undefined, arborizing_telangiectasia: undefined },
    });
    assert.equal(rows[1]!.diagnosis, 'basal cell carcinoma, nodular');
    assert.equal(rows[1]!.mask, undefined);
    assert.deepEqual(rows[1]!.patterns, { pigment_network: 1, arborizing_telangiectasia: 0 });
    // No lesion id: the image is its own group. No BCC label: unlabelled.
    assert.equal(rows[2]!.group, 'image:d7/c.jpg');
    assert.equal(rows[2]!.bcc, undefined);
  });

  it('names the line and column of a bad cell', () => {
    assert.throws(() => parseLabels(`${HEADER}\na.jpg,,g,s,d,yes,,`, 'labels.csv'), /must be 1, 0 or empty/);
    assert.throws(
      () => parseLabels(`${HEADER}\na.jpg,,g,s,d,1,2,`, 'labels.csv'),
      (err: Error & { outcome?: { issue: { expression?: string[] }[] } }) =>
        err.outcome?.issue[0]?.expression?.[0] === 'labels.csv line 2 column pigment_network',
    );
  });

  it('requires the image, source and bcc columns', () => {
    assert.throws(() => parseLabels('image,source\na.jpg,s'), /missing column\(s\) bcc/);
  });
});
