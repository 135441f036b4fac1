import { readJsonFile } from '../common/read-json-file.ts';
import { resolve } from 'node:path';
import type { Coding } from 'fhir/r4';
import { z } from 'zod';
import { PROJECT_ROOT } from '../config.ts';
import { OperationOutcomeError, manyIssues } from '../common/outcomes.ts';
import { TRIAGE_CATEGORIES } from '../rules/rule-set.ts';

/** Codes and canonical URLs live in fhir-profiles/terminology/codes.json, never in TypeScript. */
export const DEFAULT_TERMINOLOGY = resolve(PROJECT_ROOT, 'fhir-profiles/terminology/codes.json');

/** R4 Provenance.entity.role is a required binding; the file may only name one of these. */
const ENTITY_ROLES = ['derivation', 'revision', 'quotation', 'source', 'removal'] as const;

const uri = z.string().regex(/^(https?:|urn:)/, 'must be an absolute URI');

const coding = z.object({
  system: uri,
  code: z.string().min(1),
  display: z.string().min(1),
  verifiedFrom: z.string().optional(),
});

const terminologySchema = z
  .object({
    canonicalBase: uri,
    codeSystems: z.object({
      dermoscopicPattern: z.object({ url: uri }),
      triageCategory: z.object({ url: uri, codes: z.array(z.string()) }),
      bccObservation: z.object({ url: uri }),
    }),
    report: z.object({ code: coding, text: z.string().min(1), category: coding, bccLikelyConclusion: coding }),
    observation: z.object({
      category: coding,
      bccProbability: coding,
      patternProbability: coding,
      imageTriageCategory: coding,
      /** `<base><rules id>` is the system of the rule that decided an image (Observation.method.coding). */
      triageRuleSystemBase: uri,
      probabilityUnit: z.object({ system: uri, code: z.string().min(1), unit: z.string().min(1) }),
      interpretation: z.object({ positive: coding, negative: coding }),
    }),
    media: z.object({ type: coding, sourceImageExtension: uri, explainedOutputExtension: uri }),
    device: z.object({ modelSha256IdentifierSystem: uri, modelManifestSha256IdentifierSystem: uri }),
    aiTransparency: z.object({
      securityLabel: coding,
      deviceProfile: uri,
      provenanceProfile: uri,
      modelCardProfile: uri,
      deviceType: coding,
      aiKindExtension: uri,
      aiKinds: z.array(coding).min(1),
      modelCardExtension: uri,
      confidenceExtension: uri,
      modelCardType: coding,
      modelCardMarkdownCategory: coding,
      modelCardContentType: z.literal('text/markdown'),
      provenanceAgentType: coding,
      provenanceActivity: coding,
      inputEntityRole: z.enum(ENTITY_ROLES),
    }),
    policy: uri,
    profiles: z.object({
      triageReport: uri,
      bccProbability: uri,
      dermoscopicPattern: uri,
      heatmapMedia: uri,
      aiModelDevice: uri,
      aiProvenance: uri,
    }),
    cards: z.object({
      topic: coding,
      // CDS Hooks 2.0: "If override reasons are present, the CDS Service MUST populate a display".
      overrideReasons: z.array(coding).min(1),
    }),
  })
  .superRefine((t, ctx) => {
    for (const c of TRIAGE_CATEGORIES) {
      if (!t.codeSystems.triageCategory.codes.includes(c)) {
        ctx.addIssue({ code: 'custom', path: ['codeSystems', 'triageCategory', 'codes'], message: `triage category ${c} is missing` });
      }
    }
  });

export type Terminology = Readonly<z.infer<typeof terminologySchema>>;

/** Validates a parsed codes.json; throws an OperationOutcomeError naming the element at fault. */
export function parseTerminology(json: unknown, source = 'terminology'): Terminology {
  const r = terminologySchema.safeParse(json);
  if (!r.success) {
    throw new OperationOutcomeError(manyIssues('invalid', r.error.issues.map((i) => ({ text: i.message, expression: [source, ...i.path.map(String)].join('.') }))));
  }
  return r.data;
}

export async function loadTerminology(path: string = DEFAULT_TERMINOLOGY): Promise<Terminology> {
  return parseTerminology(await readJsonFile(path, 'terminology file'), path);
}

/**
 * The Coding an element fixed "exactly" to system and code takes (AI Transparency IG Device.type,
 * Provenance agent role, model card type): a display or a text would make it differ from the fixed value.
 */
export function toExactCoding(c: { readonly system: string; readonly code: string }): Coding {
  return { system: c.system, code: c.code };
}

/** A FHIR Coding from a terminology entry, without our bookkeeping fields (verifiedFrom). */
export function toCoding(c: { readonly system: string; readonly code: string; readonly display: string }): Coding {
  return { system: c.system, code: c.code, display: c.display };
}
