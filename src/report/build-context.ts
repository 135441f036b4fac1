import type { Meta, Reference } from 'fhir/r4';
import type { ImageAnalysis } from '../analysis/analyze-images.ts';
import type { ModelManifest } from '../model/manifest.ts';
import type { RuleSet } from '../rules/rule-set.ts';
import type { Terminology } from './terminology.ts';
import type { ReferralImageOutcome } from './triage-report.ts';
import { toCoding } from './terminology.ts';

/** What every resource builder of one report shares. */
export interface BuildContext {
  readonly terminology: Terminology;
  readonly manifest: ModelManifest;
  readonly rules: RuleSet;
  readonly patient: Reference;
  /** `basedOn` of the AI resources (referralReference); undefined when the referral cannot be named. */
  readonly referral: Reference | undefined;
  /** `urn:uuid:` of the model Device created with the report. */
  readonly device: Reference;
  /** ISO 8601 instant of `now`. */
  readonly now: string;
}

/** `basedOn` the referral, spread into a resource; nothing when it cannot be named (no dangling reference). */
export function basedOnReferral(ctx: BuildContext): { basedOn?: Reference[] } {
  return ctx.referral ? { basedOn: [ctx.referral] } : {};
}

/**
 * meta for a resource whose content the model asserted: our profile plus the AI Transparency
 * IG's AIAST security label (first-level observability: "AI was involved").
 */
export function aiAssertedMeta(ctx: BuildContext, profile: string): Meta {
  return { profile: [profile], security: [toCoding(ctx.terminology.aiTransparency.securityLabel)] };
}

export function modelTitle(manifest: Pick<ModelManifest, 'name' | 'version'>): string {
  return `${manifest.name} ${manifest.version}`;
}

/** An image the model read, with its place in the referral. */
export interface AnalysedImage {
  readonly index: number;
  readonly outcome: ReferralImageOutcome;
  readonly analysis: ImageAnalysis;
}
