/**
 * Candidates as `npm run learn` makes them, built here from the installed manifest: a learned head
 * on an untrained pattern (ulceration), the `learning` block, and the acceptance report whose
 * canonical digest the manifest names.
 */
import { readFile } from 'node:fs/promises';
import { canonicalDigest } from '../../src/common/canonical-json.ts';
import { DEFAULT_MODEL_MANIFEST } from '../../src/config.ts';

export type Json = Record<string, unknown>;

export const installedJson = JSON.parse(await readFile(DEFAULT_MODEL_MANIFEST, 'utf8')) as Json;

export const LEARNED_PATTERN = 'ulceration';

export interface Candidate {
  readonly manifest: Json;
  readonly acceptance: Json;
}

/** A new version with a learned `ulceration` head: `decision` goes into the acceptance report and the manifest. */
export function learnedCandidate(version: string, opts: { readonly decision?: 'accepted' | 'refused'; readonly since?: string } = {}): Candidate {
  const decision = opts.decision ?? 'accepted';
  const acceptance: Json = {
    pattern: LEARNED_PATTERN,
    decision,
    accepted: decision === 'accepted',
    reasons: [],
    positives: 40,
    negatives: 120,
    auc: { value: 0.81, ci95: [0.72, 0.88], n: 160, positives: 40 },
  };
  const manifest = structuredClone(installedJson);
  manifest.version = version;
  const channels = (manifest.outputs as { features: { shape: number[] } }).features.shape[1] ?? 0;
  const p = (manifest.patterns as Json[]).find((x) => x.id === LEARNED_PATTERN);
  if (!p) {
    throw new Error(`no ${LEARNED_PATTERN} in the installed manifest`);
  }
  Object.assign(p, {
    trained: true,
    threshold: 0.5,
    head: 'learned',
    assessedSince: opts.since ?? '2026-12-01',
    learned: { weights: Array.from({ length: channels }, (_, c) => (c % 7 === 0 ? 0.05 : c % 11 === 0 ? -0.03 : 0)), bias: -0.2, calibration: { method: 'platt', slope: 1, intercept: 0 } },
  });
  manifest.learning = { from: installedJson.version, pattern: LEARNED_PATTERN, acceptanceSha256: canonicalDigest(acceptance), decision, createdAt: '2026-12-01T09:00:00.000Z' };
  return { manifest, acceptance };
}
