import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';
import { canonicalDigest, canonicalJson } from '../common/canonical-json.ts';
import { OperationOutcomeError } from '../common/outcomes.ts';
import type { ModelManifest } from '../model/manifest.ts';
import { parseManifest } from '../model/manifest.ts';

/** Why a candidate is not registered; each refusal names its code (in details.coding) and its element. */
export const REGISTRATION_REFUSALS = ['bad-manifest', 'no-learning', 'digest-mismatch', 'decision-refused', 'other-network', 'other-io', 'other-patterns', 'duplicate-version'] as const;
export type RegistrationRefusal = (typeof REGISTRATION_REFUSALS)[number];

/** The code system of the refusal codes in an OperationOutcome issue. */
export const REGISTRATION_REFUSAL_SYSTEM = 'urn:bcc-cds:model-registration-refusal';

export interface CandidateContext {
  /** The manifest the service was started with: its network is the only one it runs. */
  readonly installed: ModelManifest;
  readonly registeredVersions: readonly string[];
}

export interface CheckedCandidate {
  readonly manifest: ModelManifest;
  readonly acceptanceSha256: string;
}

interface Refusal {
  readonly code: RegistrationRefusal;
  readonly text: string;
  readonly expression: string;
}

/**
 * The checks a candidate (`npm run learn`: manifest + acceptance.json) passes before it is
 * registered, all of them, so one answer lists every reason: the manifest parses; it names the
 * installed network (sha256, inputs, outputs) and its patterns; its acceptance report is the one
 * it names (sha256 of the report's canonical JSON) and says `accepted`; its version is new.
 * Throws an OperationOutcomeError (422) with one issue per refusal.
 */
export function checkCandidate(body: { readonly manifest: unknown; readonly acceptance: unknown }, ctx: CandidateContext): CheckedCandidate {
  let manifest: ModelManifest;
  try {
    manifest = parseManifest(body.manifest, 'manifest');
  } catch (err) {
    if (!(err instanceof OperationOutcomeError)) {
      throw err;
    }
    // The schema's own issues, each naming its element, as refusals of this registration.
    throw refused(err.outcome.issue.map((i) => ({ code: 'bad-manifest', text: i.details?.text ?? i.code, expression: i.expression?.[0] ?? 'manifest' })));
  }
  const problems: Refusal[] = [];
  const { installed } = ctx;
  if (ctx.registeredVersions.includes(manifest.version)) {
    problems.push({ code: 'duplicate-version', text: `version ${manifest.version} is already registered; a changed model needs a new version`, expression: 'manifest.version' });
  }
  if (manifest.sha256 !== installed.sha256) {
    problems.push({ code: 'other-network', text: `the manifest names network sha256 ${manifest.sha256}; this service runs ${installed.sha256} (a new network is installed, not promoted)`, expression: 'manifest.sha256' });
  } else if (canonicalJson(manifest.input) !== canonicalJson(installed.input) || canonicalJson(manifest.outputs) !== canonicalJson(installed.outputs)) {
    problems.push({ code: 'other-io', text: 'the manifest describes the network\'s inputs or outputs differently from the installed manifest', expression: 'manifest.outputs' });
  }
  const ids = manifest.patterns.map((p) => p.id).join(',');
  if (ids !== installed.patterns.map((p) => p.id).join(',')) {
    problems.push({ code: 'other-patterns', text: `the patterns [${ids}] are not the installed model's, in its order`, expression: 'manifest.patterns' });
  }
  const learning = manifest.learning;
  const digest = canonicalDigest(body.acceptance);
  if (typeof body.acceptance !== 'object' || body.acceptance === null || Array.isArray(body.acceptance)) {
    problems.push({ code: 'decision-refused', text: 'the acceptance report must be a JSON object', expression: 'acceptance' });
  } else {
    const decision = decisionOf(body.acceptance as Record<string, unknown>);
    if (decision !== 'accepted') {
      problems.push({ code: 'decision-refused', text: decision === undefined ? 'the acceptance report states no decision' : `the acceptance report's decision is "${decision}", not "accepted"`, expression: 'acceptance.decision' });
    }
  }
  if (!learning) {
    problems.push({ code: 'no-learning', text: 'a candidate names its acceptance report in manifest.learning (npm run learn writes it)', expression: 'manifest.learning' });
  } else {
    if (learning.acceptanceSha256 !== digest) {
      problems.push({ code: 'digest-mismatch', text: `the acceptance report's digest is ${digest}; the manifest names ${learning.acceptanceSha256}`, expression: 'manifest.learning.acceptanceSha256' });
    }
    if (learning.decision !== 'accepted') {
      problems.push({ code: 'decision-refused', text: `the manifest records the decision "${learning.decision}"`, expression: 'manifest.learning.decision' });
    }
  }
  if (problems.length > 0) {
    throw refused(problems);
  }
  return { manifest, acceptanceSha256: digest };
}

/** `decision` as written; a report with only `accepted: boolean` (src/learning/acceptance.ts) reads as that. */
function decisionOf(a: Record<string, unknown>): string | undefined {
  if (typeof a.decision === 'string') {
    return a.decision;
  }
  return typeof a.accepted === 'boolean' ? (a.accepted ? 'accepted' : 'refused') : undefined;
}

function refused(problems: readonly Refusal[]): OperationOutcomeError {
  const issue = problems.map(
    (p): OperationOutcomeIssue => ({
      severity: 'error',
      code: 'processing',
      details: { coding: [{ system: REGISTRATION_REFUSAL_SYSTEM, code: p.code }], text: p.text },
      expression: [p.expression],
    }),
  );
  const outcome: OperationOutcome = { resourceType: 'OperationOutcome', issue };
  return new OperationOutcomeError(outcome);
}

/** The refusal codes of an outcome thrown by checkCandidate (tests, the CLI). */
export function refusalCodes(o: OperationOutcome): string[] {
  return o.issue.flatMap((i) => (i.details?.coding ?? []).filter((c) => c.system === REGISTRATION_REFUSAL_SYSTEM).flatMap((c) => c.code ?? []));
}
