import type { ModelManifest, PatternRole } from '../model/manifest.ts';
import type { ModelVersionRecord } from './model-registry-store.ts';

/** Where a pattern's probability comes from: a head in the graph, a head learned in the hospital, or nowhere (not assessed). */
export const PATTERN_HEADS = ['graph', 'learned'] as const;
export type PatternHead = (typeof PATTERN_HEADS)[number];

export interface VersionPattern {
  readonly id: string;
  readonly display: string;
  readonly role: PatternRole;
  readonly assessed: boolean;
  /** When this line of versions first assessed it (manifest assessedSince); null when not recorded. */
  readonly since: string | null;
  readonly head: PatternHead | null;
}

/** One registered version as GET /models lists it (no patient data). */
export interface VersionSummary {
  readonly version: string;
  readonly registeredAt: string;
  readonly registeredBy: string;
  readonly acceptanceSha256: string | null;
  readonly networkSha256: string;
  readonly live: boolean;
  /** Registered for the network this service runs, and not live: a promote or rollback may go to it. */
  readonly promotable: boolean;
  readonly patterns: readonly VersionPattern[];
}

/** Which patterns a version assesses, with which head and since when: what the viewer and model card page show. */
export function versionPatterns(m: Pick<ModelManifest, 'patterns'>): VersionPattern[] {
  return m.patterns.map((p) => ({
    id: p.id,
    display: p.display,
    role: p.role,
    assessed: p.trained,
    since: p.trained ? (p.assessedSince ?? null) : null,
    head: !p.trained ? null : p.learned ? 'learned' : 'graph',
  }));
}

/** `manifest`: the record's manifest parsed, or undefined when it no longer parses (listed without patterns). */
export function summarizeVersion(rec: ModelVersionRecord, manifest: ModelManifest | undefined, ctx: { readonly liveVersion: string; readonly installedNetwork: string }): VersionSummary {
  const live = rec.version === ctx.liveVersion;
  return {
    version: rec.version,
    registeredAt: rec.registeredAt,
    registeredBy: rec.registeredBy,
    acceptanceSha256: rec.acceptanceSha256,
    networkSha256: rec.networkSha256,
    live,
    promotable: !live && manifest !== undefined && rec.networkSha256 === ctx.installedNetwork,
    patterns: manifest ? versionPatterns(manifest) : [],
  };
}
