import assert from 'node:assert/strict';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatCsv } from '../../../src/tools/consensus/csv-write.ts';
import { FEEDBACK_SHEET_COLUMNS } from '../../../src/tools/consensus/feedback-sheet.ts';
import { runConsensus } from '../../../src/tools/consensus/run-consensus.ts';
import { parseCsv } from '../../../src/tools/evaluation/labels.ts';
import { openSqliteStore } from '../../../src/storage/sqlite-store.ts';
import { runCli } from '../../support/run-cli.ts';

describe('npm run feedback-export', () => {
  let dir: string;
  let db: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bcc-feedback-export-'));
    db = join(dir, 'feedback.sqlite');
    const store = await openSqliteStore(db);
    await store.recordCards([
      { uuid: 'card-1', serviceId: 'bcc-triage', hookInstance: 'h1', referral: 'ServiceRequest/r1', category: 'urgent', bccProbability: 0.91, modelVersion: '1.1.0', issuedAt: '2026-11-26T10:00:00Z' },
      { uuid: 'card-2', serviceId: 'bcc-triage', hookInstance: 'h2', referral: 'ServiceRequest/r2', category: 'routine', bccProbability: 0.02, modelVersion: '1.1.0', issuedAt: '2026-11-26T11:00:00Z' },
      { uuid: 'card-3', serviceId: 'bcc-triage', hookInstance: 'h3', referral: 'ServiceRequest/r3', category: 'no-images', bccProbability: null, modelVersion: '1.1.0', issuedAt: '2026-11-26T12:00:00Z' },
    ]);
    await store.recordFeedback(
      [
        { serviceId: 'bcc-triage', card: 'card-1', outcome: 'accepted', acceptedSuggestions: ['s-1'], outcomeTimestamp: '2026-11-26T10:05:00Z' },
        {
          serviceId: 'bcc-triage',
          card: 'card-2',
          outcome: 'overridden',
          acceptedSuggestions: [],
          overrideReasonSystem: 'http://example.org/reasons',
          overrideReasonCode: 'clinical-judgement',
          overrideComment: 'raised, pearly border, telangiectasia',
          outcomeTimestamp: '2026-11-26T11:10:00Z',
        },
        { serviceId: 'other-service', card: 'card-x', outcome: 'accepted', acceptedSuggestions: [], outcomeTimestamp: '2026-11-26T12:30:00Z' },
      ],
      '2026-11-26T13:00:00Z',
    );
    await store.close();
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes one row per feedback, joined with the card it answers, and empty annotation columns', async () => {
    const out = join(dir, 'sheet.csv');
    const run = await runCli('src/tools/cli/feedback-export.ts', ['--db', db, '--out', out]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /3 feedback row\(s\) \(1 overridden\)/);
    const [header, ...rows] = parseCsv(await readFile(out, 'utf8'));
    assert.deepEqual(header, [...FEEDBACK_SHEET_COLUMNS]);
    const at = (row: readonly string[], column: (typeof FEEDBACK_SHEET_COLUMNS)[number]): string => row[header.indexOf(column)]!;
    assert.deepEqual(
      rows.map((r) => [at(r, 'card'), at(r, 'referral'), at(r, 'category'), at(r, 'bcc_probability'), at(r, 'model_version'), at(r, 'outcome')]),
      [
        ['card-1', 'ServiceRequest/r1', 'urgent', '0.91', '1.1.0', 'accepted'],
        ['card-2', 'ServiceRequest/r2', 'routine', '0.02', '1.1.0', 'overridden'],
        // Feedback on a card this service did not issue: outcome kept, prediction columns empty.
        ['card-x', '', '', '', '', 'accepted'],
      ],
    );
    const overridden = rows[1]!;
    assert.equal(at(overridden, 'override_reason_code'), 'clinical-judgement');
    assert.equal(at(overridden, 'override_reason_system'), 'http://example.org/reasons');
    assert.equal(at(overridden, 'override_comment'), 'raised, pearly border, telangiectasia');
    assert.equal(at(overridden, 'issued_at'), '2026-11-26T11:00:00Z');
    assert.equal(at(overridden, 'outcome_timestamp'), '2026-11-26T11:10:00Z');
    assert.equal(at(overridden, 'received_at'), '2026-11-26T13:00:00Z');
    assert.equal(at(rows[0]!, 'accepted_suggestions'), 's-1');
    assert.equal(at(rows[2]!, 'service_id'), 'other-service');
    assert.ok(rows.every((r) => (['image', 'annotator', 'label', 'value'] as const).every((c) => at(r, c) === '')));
  });

  it('adds cards nobody answered with --include-unanswered', async () => {
    const out = join(dir, 'all.csv');
    const run = await runCli('src/tools/cli/feedback-export.ts', ['--db', db, '--out', out, '--include-unanswered']);
    assert.equal(run.code, 0, run.stderr);
    const [header, ...rows] = parseCsv(await readFile(out, 'utf8'));
    assert.equal(rows.length, 4);
    assert.deepEqual([rows[3]![header!.indexOf('card')], rows[3]![header!.indexOf('outcome')], rows[3]![header!.indexOf('bcc_probability')]], ['card-3', '', '']);
  });

  it('is an annotation sheet once a dermatologist fills in image, annotator, label and value', async () => {
    const out = join(dir, 'review.csv');
    assert.equal((await runCli('src/tools/cli/feedback-export.ts', ['--db', db, '--out', out])).code, 0);
    const [header, ...rows] = parseCsv(await readFile(out, 'utf8'));
    const fill = (row: readonly string[], image: string, annotator: string, label: string, value: string): string[] => {
      const filled = new Map([
        ['image', image],
        ['annotator', annotator],
        ['label', label],
        ['value', value],
      ]);
      return header!.map((c, k) => filled.get(c) ?? row[k]!);
    };
    const reviewed = [
      header!,
      fill(rows[1]!, 'derm7pt/r2-1.jpg', 'derm-a', 'bcc', '1'),
      fill(rows[1]!, 'derm7pt/r2-1.jpg', 'derm-b', 'bcc', '1'),
      fill(rows[1]!, 'derm7pt/r2-1.jpg', 'derm-a', 'arborizing_telangiectasia', '1'),
      rows[0]!,
      rows[2]!,
    ];
    const result = runConsensus({ annotations: { text: formatCsv(reviewed), source: 'review.csv' }, labels: ['bcc', 'arborizing_telangiectasia'], generated: '2026-01-01T00:00:00Z' });
    assert.equal(result.labelsCsv, 'image,mask,group,source,diagnosis,bcc,arborizing_telangiectasia\nderm7pt/r2-1.jpg,,,,,1,1\n');
  });

  it('exits 2 without creating a database that is not there', async () => {
    const missing = join(dir, 'nope', 'feedback.sqlite');
    const run = await runCli('src/tools/cli/feedback-export.ts', ['--db', missing, '--out', join(dir, 'x.csv')]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--db: no feedback database at .*nope\/feedback\.sqlite/);
    await assert.rejects(access(missing));
  });
});
