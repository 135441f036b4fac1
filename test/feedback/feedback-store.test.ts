import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openFeedbackStore } from '../../src/feedback/feedback-store.ts';

describe('feedback store', () => {
  it('keeps cards and feedback across a reopen, joined by card uuid', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bcc-feedback-'));
    try {
      const path = join(dir, 'nested', 'fb.sqlite');
      const a = openFeedbackStore(path);
      a.recordCards([
        { uuid: 'c1', serviceId: 's', hookInstance: 'h1', referral: 'ServiceRequest/1', category: 'high', bccProbability: 0.9, modelVersion: '1.0.0', issuedAt: '2026-11-26T10:00:00Z' },
      ]);
      const n = a.recordFeedback(
        [
          { serviceId: 's', card: 'c1', outcome: 'overridden', acceptedSuggestions: [], overrideReasonCode: 'image-quality', overrideComment: 'blurred', outcomeTimestamp: '2026-11-26T10:01:00Z' },
          { serviceId: 's', card: 'unknown-card', outcome: 'accepted', acceptedSuggestions: ['sug-1'], outcomeTimestamp: '2026-11-26T10:02:00Z' },
        ],
        '2026-11-26T10:03:00Z',
      );
      assert.equal(n, 2);
      a.close();
      const b = openFeedbackStore(path);
      const rows = b.listFeedback();
      assert.equal(rows.length, 2);
      const overridden = rows.find((r) => r.card === 'c1');
      assert.equal(overridden?.outcome, 'overridden');
      assert.equal(overridden?.overrideReasonCode, 'image-quality');
      assert.equal(overridden?.overrideComment, 'blurred');
      assert.equal(overridden?.issued?.category, 'high');
      assert.equal(overridden?.issued?.modelVersion, '1.0.0');
      const accepted = rows.find((r) => r.card === 'unknown-card');
      assert.deepEqual(accepted?.acceptedSuggestions, ['sug-1']);
      assert.equal(accepted?.issued, undefined);
      assert.deepEqual(b.countByOutcome(), { accepted: 1, overridden: 1 });
      b.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
