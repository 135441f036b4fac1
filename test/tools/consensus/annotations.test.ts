import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAnnotations } from '../../../src/tools/consensus/annotations.ts';
import { OperationOutcomeError } from '../../../src/common/outcomes.ts';

const LABELS = ['bcc', 'pigment_network', 'ulceration'] as const;

function problems(text: string): string[] {
  try {
    parseAnnotations(text, LABELS, 'sheet.csv');
  } catch (err) {
    assert.ok(err instanceof OperationOutcomeError);
    return err.outcome.issue.map((i) => `${i.expression?.join(', ')}: ${i.details?.text}`);
  }
  assert.fail('expected an error');
}

describe('annotation sheet', () => {
  it('reads votes, drops empty values, collapses identical duplicates and ignores other columns', () => {
    const sheet = parseAnnotations(
      [
        'note,image,annotator,label,value',
        'x,a.jpg,d1,bcc,1',
        'x,a.jpg,d2,bcc,',
        'x,b.jpg,d2,bcc,0',
        'x,a.jpg,d1,bcc,1',
        ',,,,',
        'reviewed later,,,,',
        'x,c.jpg,d3,ulceration,',
      ].join('\r\n'),
      LABELS,
    );
    assert.deepEqual(sheet.images, ['a.jpg', 'b.jpg', 'c.jpg']);
    assert.deepEqual(sheet.annotators, ['d1', 'd2', 'd3']);
    assert.deepEqual(
      sheet.votes.map((v) => [v.image, v.annotator, v.label, v.value, v.line]),
      [
        ['a.jpg', 'd1', 'bcc', 1, 2],
        ['b.jpg', 'd2', 'bcc', 0, 4],
      ],
    );
    assert.equal(sheet.duplicates, 1);
  });

  it('treats an empty value beside a 0/1 for the same annotator as no conflict', () => {
    const sheet = parseAnnotations('image,annotator,label,value\na.jpg,d1,bcc,\na.jpg,d1,bcc,0\n', LABELS);
    assert.deepEqual(sheet.votes.map((v) => v.value), [0]);
  });

  it('rejects conflicting duplicate votes, naming both lines', () => {
    assert.deepEqual(problems('image,annotator,label,value\na.jpg,d1,bcc,1\nb.jpg,d1,bcc,0\na.jpg,d1,bcc,0\n'), [
      'sheet.csv line 4 column value: conflicting votes by annotator "d1" on image "a.jpg", label bcc: 1 on line 2, 0 here; keep one',
    ]);
  });

  it('lists every unknown label, bad value and empty cell in one outcome', () => {
    assert.deepEqual(problems('image,annotator,label,value\na.jpg,d1,BCC,1\na.jpg,d1,bcc,yes\n,d1,bcc,1\na.jpg,d1,ulceration,0.7\n'), [
      'sheet.csv line 2 column label: unknown label "BCC"; expected one of bcc, pigment_network, ulceration',
      'sheet.csv line 3 column value: value must be 1, 0 or empty, got "yes"',
      'sheet.csv line 4 column image: image is empty',
      'sheet.csv line 5 column value: value must be 1, 0 or empty, got "0.7"',
    ]);
  });

  it('caps the list at 20 problems and counts the rest', () => {
    const rows = Array.from({ length: 25 }, (_, i) => `img${i}.jpg,d1,nope,1`);
    const listed = problems(['image,annotator,label,value', ...rows].join('\n'));
    assert.equal(listed.length, 21);
    assert.equal(listed[20], 'sheet.csv: and 5 more problem(s)');
  });

  it('names missing columns', () => {
    assert.deepEqual(problems('image,rater,label,value\n'), ['sheet.csv header: missing column(s) annotator; expected image,annotator,label,value']);
  });
});
