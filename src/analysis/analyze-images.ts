import type { OperationOutcome } from 'fhir/r4';
import type { DecodeLimits, DermoscopyImage } from '../imaging/decode.ts';
import { DEFAULT_DECODE_LIMITS, decodeDermoscopy } from '../imaging/decode.ts';
import type { InputRegion, ModelInput } from '../imaging/preprocess.ts';
import { toModelInput } from '../imaging/preprocess.ts';
import type { ModelFindings } from '../model/findings.ts';
import { readFindings } from '../model/findings.ts';
import type { BccModel } from '../model/session.ts';
import { OperationOutcomeError, serverError } from '../outcomes.ts';
import type { CriterionResult } from '../rules/criterion.ts';
import { applyBccCriterion } from '../rules/criterion.ts';
import type { RuleSet } from '../rules/rule-set.ts';
import type { TriageResult } from '../rules/triage.ts';
import { assignTriage } from '../rules/triage.ts';

export interface AnalyzeDeps {
  readonly model: BccModel;
  readonly rules: RuleSet;
  readonly limits?: DecodeLimits;
}

export interface ImageInput {
  /** Caller's id for the image (a file path, a Media id). */
  readonly id: string;
  readonly bytes: Buffer;
  /** Element named in errors, e.g. `Media/123.content`. */
  readonly where?: string;
}

export interface ImageAnalysis {
  readonly image: Pick<DermoscopyImage, 'width' | 'height' | 'format'>;
  readonly region: InputRegion;
  readonly findings: ModelFindings;
  readonly criterion: CriterionResult;
  readonly triage: TriageResult;
  /** Raw activation maps (model.cam channels x height x width), for heatmaps. */
  readonly cam: Float32Array;
}

export type ImageResult =
  | { readonly ok: true; readonly id: string; readonly image: DermoscopyImage; readonly analysis: ImageAnalysis }
  | { readonly ok: false; readonly id: string; readonly outcome: OperationOutcome };

function toOutcome(err: unknown): OperationOutcome {
  return err instanceof OperationOutcomeError ? err.outcome : serverError(`image analysis failed: ${(err as Error).message}`);
}

/**
 * Decode -> preprocess -> one batched inference -> findings -> criterion -> triage, per image.
 * A bad image becomes a failed result with an OperationOutcome; the others still run.
 */
export async function analyzeImages(deps: AnalyzeDeps, inputs: readonly ImageInput[]): Promise<ImageResult[]> {
  const { model, rules } = deps;
  const limits = deps.limits ?? DEFAULT_DECODE_LIMITS;
  const prepared = await Promise.all(
    inputs.map(async (inp): Promise<{ image: DermoscopyImage; input: ModelInput } | { outcome: OperationOutcome }> => {
      try {
        const where = inp.where ?? inp.id;
        const image = await decodeDermoscopy(inp.bytes, limits, where);
        return { image, input: await toModelInput(image, model.manifest.input, where) };
      } catch (err) {
        return { outcome: toOutcome(err) };
      }
    }),
  );
  const ready = prepared.flatMap((p, k) => ('input' in p ? [{ k, ...p }] : []));
  const outputs = await model.infer(ready.map((r) => r.input.tensor));
  const results: ImageResult[] = prepared.map((p, k) => ({
    ok: false,
    id: inputs[k]?.id ?? String(k),
    outcome: 'outcome' in p ? p.outcome : serverError('not analysed'),
  }));
  ready.forEach((r, j) => {
    const out = outputs[j];
    if (!out) {
      return;
    }
    const findings = readFindings(out, model.manifest);
    const criterion = applyBccCriterion(findings.patterns, rules);
    const triage = assignTriage(findings.bccProbability, criterion, model.manifest.thresholds, rules);
    results[r.k] = {
      ok: true,
      id: inputs[r.k]?.id ?? String(r.k),
      image: r.image,
      analysis: {
        image: { width: r.image.width, height: r.image.height, format: r.image.format },
        region: r.input.region,
        findings,
        criterion,
        triage,
        cam: out.cam,
      },
    };
  });
  return results;
}
