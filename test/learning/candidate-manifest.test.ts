import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_MODEL_MANIFEST } from '../../src/config.ts';
import { buildCandidateManifest, nextMinorVersion, withLearningRecord } from '../../src/learning/candidate-manifest.ts';
import { fitPatternHead } from '../../src/learning/fit-pattern-head.ts';
import { formatModelCardMarkdown } from '../../src/learning/model-card.ts';
import type { ModelManifest } from '../../src/model/manifest.ts';
import { loadManifest, parseManifest } from '../../src/model/manifest.ts';
import { synthetic } from './synthetic.ts';

const base = await loadManifest(DEFAULT_MODEL_MANIFEST);
const data = synthetic({ seed: 3, d: 1280, positives: 30, negatives: 30, direction: Array.from({ length: 1280 }, (_, j) => (j < 8 ? 1 : 0)), shift: 2 });
const fit = fitPatternHead(data.rows, data.labels, data.groups, { folds: 5, seed: 1, resamples: 200 });

function candidate(pattern: string, from = base, now = new Date('2026-12-02T10:00:00Z')): ModelManifest {
  return buildCandidateManifest({
    base: from,
    pattern,
    file: '../models/bcc-mtl-mnv2.onnx',
    fit,
    annotators: [{ id: 'd1', votes: 60, sensitivity: 0.9, specificity: 0.95 }],
    positives: 30,
    negatives: 30,
    uncertain: 2,
    folds: 5,
    groups: { source: 'image', count: 60 },
    now,
  });
}

describe('the candidate manifest of npm run learn', () => {
  it('takes the next minor version and refuses a version it cannot read', () => {
    assert.equal(nextMinorVersion('1.5.1'), '1.6.0');
    assert.equal(nextMinorVersion('2.10.0'), '2.11.0');
    assert.throws(() => nextMinorVersion('1.5'), /not major.minor.patch/);
  });

  it('is the base with one learned head: same network, the pattern trained, the card and its limit line', () => {
    const c = parseManifest(withLearningRecord(candidate('ulceration'), { from: base.version, pattern: 'ulceration', acceptanceSha256: 'a'.repeat(64), acceptance: { accepted: true }, createdAt: 'now' }));
    assert.equal(c.version, '1.6.0');
    assert.equal(c.sha256, base.sha256);
    assert.equal(c.file, '../models/bcc-mtl-mnv2.onnx');
    assert.equal(c.created, '2026-12-02T10:00:00Z');
    const p = c.patterns.find((q) => q.id === 'ulceration')!;
    assert.deepEqual([p.trained, p.head, p.assessedSince, p.threshold], [true, 'learned', '2026-12-02', fit.threshold.threshold]);
    assert.deepEqual(p.learned?.calibration, fit.calibration);
    assert.deepEqual(c.patterns.filter((q) => q.id !== 'ulceration'), base.patterns.filter((q) => q.id !== 'ulceration'));
    assert.deepEqual(c.learning, { from: base.version, pattern: 'ulceration', acceptanceSha256: 'a'.repeat(64), decision: 'accepted', createdAt: 'now' });
    assert.equal(c.modelCard.limits.length, base.modelCard.limits.length + 1);
    // The base says ulceration is NOT assessed; the candidate's card must not.
    const assessedLine = c.modelCard.limits.find((l) => /not assessed/i.test(l)) ?? '';
    assert.match(assessedLine, /^Patterns assessed by this version: .*ulceration \(head learned from this hospital's annotations since 2026-12-02\).*\. NOT assessed/);
    assert.doesNotMatch(assessedLine.split('NOT assessed')[1] ?? '', /ulceration/);
    assert.equal(c.modelCard.limits.filter((l) => /not assessed/i.test(l)).length, 1);
    assert.match(formatModelCardMarkdown(c), new RegExp(`### Ulceration \\(\`ulceration\`\\), learned 2026-12-02 from ${base.version.replace(/\./g, '\\.')}[\\s\\S]*\\| d1 \\| 60 \\| 0\\.900 \\| 0\\.950 \\|`));
  });

  it('keeps the base\'s learned heads and replaces only the relearned pattern\'s card and limit', () => {
    const v160 = parseManifest(candidate('ulceration'));
    const v170 = parseManifest(candidate('leaf_like_areas', v160, new Date('2026-12-03T10:00:00Z')));
    assert.equal(v170.version, '1.7.0');
    assert.equal(v170.patterns.find((q) => q.id === 'ulceration')?.head, 'learned');
    assert.deepEqual(Object.keys(v170.modelCard.learnedPatterns as object).sort(), ['leaf_like_areas', 'ulceration']);
    const again = parseManifest(candidate('ulceration', v170, new Date('2026-12-04T10:00:00Z')));
    assert.equal(again.modelCard.limits.filter((l) => l.startsWith('Ulceration (learned ')).length, 1);
    assert.match(again.modelCard.limits.find((l) => l.startsWith('Ulceration'))!, /learned 2026-12-04, version 1\.8\.0/);
  });
});
