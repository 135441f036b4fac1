import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { DEFAULT_MODEL_MANIFEST } from '../../src/config.ts';
import { assessablePatterns, parseManifest } from '../../src/model/manifest.ts';
import { OperationOutcomeError, describeOutcome } from '../../src/common/outcomes.ts';

const shipped: Record<string, unknown> = JSON.parse(await readFile(DEFAULT_MODEL_MANIFEST, 'utf8'));

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- edits reach anywhere into the manifest JSON
function mutate(edit: (m: any) => void): unknown {
  const copy = structuredClone(shipped);
  edit(copy);
  return copy;
}

function expectInvalid(json: unknown, expression: string, text: RegExp): void {
  assert.throws(
    () => parseManifest(json, 'manifest'),
    (err: unknown) => {
      assert.ok(err instanceof OperationOutcomeError);
      const issue = err.outcome.issue.find((i) => i.expression?.[0] === expression);
      assert.ok(issue, `no issue at ${expression}: ${describeOutcome(err.outcome)}`);
      assert.match(issue.details?.text ?? '', text);
      return true;
    },
  );
}

describe('model manifest', () => {
  it('accepts the shipped manifest and lists only trained patterns as assessable', () => {
    const m = parseManifest(shipped);
    assert.equal(m.patterns.length, 7);
    const ids = assessablePatterns(m).map((p) => p.id);
    assert.ok(ids.length >= 1);
    for (const p of m.patterns) {
      assert.equal(ids.includes(p.id), p.trained);
    }
  });

  it('refuses a gate that reads an output the manifest does not declare', () => {
    expectInvalid(
      mutate((m) => {
        delete m.outputs.dermoscopy;
        m.gate = { modality: { output: 'dermoscopy', threshold: 0.5 } };
      }),
      'manifest.gate.modality.output',
      /does not declare/,
    );
  });

  it('refuses an isotonic calibration that is not monotone', () => {
    expectInvalid(
      mutate((m) => {
        m.calibration = { method: 'isotonic', points: [[0.1, 0.2], [0.5, 0.1]] };
      }),
      'manifest.calibration.points',
      /not decrease/,
    );
  });

  it('refuses a Platt calibration that would reverse the ranking', () => {
    expectInvalid(
      mutate((m) => {
        m.calibration = { method: 'platt', slope: -1, intercept: 0 };
      }),
      'manifest.calibration.slope',
      /greater than 0|>0|too small/i,
    );
  });

  it('names a missing input tensor name', () => {
    expectInvalid(mutate((m) => delete m.input.name), 'manifest.input.name', /expected string/i);
  });

  it('rejects an unknown resize mode', () => {
    expectInvalid(mutate((m) => (m.input.resize = 'squash')), 'manifest.input.resize', /fill|cover/);
  });

  it('rejects a CAM channel order that differs from BCC + patterns', () => {
    expectInvalid(
      mutate((m) => m.outputs.cam.channels.reverse()),
      'manifest.outputs.cam.channels',
      /BCC, then patterns in manifest order/,
    );
  });

  it('rejects a CAM channel count that does not match the patterns', () => {
    expectInvalid(mutate((m) => (m.outputs.cam.shape[1] = 5)), 'manifest.outputs.cam.shape.1', /must be 8/);
  });

  it('requires a threshold for a trained pattern', () => {
    expectInvalid(mutate((m) => (m.patterns[0].threshold = null, (m.patterns[0].trained = true))), 'manifest.patterns.0.threshold', /needs a threshold/);
  });

  it('requires triage and balanced operating points', () => {
    expectInvalid(mutate((m) => delete m.thresholds.triage), 'manifest.thresholds.triage', /expected number/i);
  });

  it('requires a model card with intended use and limits', () => {
    expectInvalid(mutate((m) => delete m.modelCard.intendedUse), 'manifest.modelCard.intendedUse', /expected string/i);
  });
});
