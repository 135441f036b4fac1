import type { OperationOutcome } from 'fhir/r4';
import type { DecodeLimits, DermoscopyImage } from '../imaging/decode.ts';
import { DEFAULT_DECODE_LIMITS, decodeDermoscopy } from '../imaging/decode.ts';
import type { InputRegion, ModelInput } from '../imaging/preprocess.ts';
import { toModelInput } from '../imaging/preprocess.ts';
import type { ModelFindings } from '../model/findings.ts';
import { readFindings } from '../model/findings.ts';
import type { BccModel } from '../model/session.ts';
import { OperationOutcomeError, businessRule, serverError } from '../common/outcomes.ts';
import { mapConcurrent } from '../common/map-concurrent.ts';
import type { GateConfig } from '../gate/gate-config.ts';
import type { GateReason } from '../gate/gate-reasons.ts';
import { judgeModelGate } from '../gate/model-gate.ts';
import { checkImageQuality } from '../gate/quality-gate.ts';
import { operatingPoints } from '../model/calibration.ts';
import type { CriterionResult } from '../rules/criterion.ts';
import { applyBccCriterion } from '../rules/criterion.ts';
import type { RuleSet } from '../rules/rule-set.ts';
import type { TriageResult } from '../rules/triage.ts';
import { assignTriage } from '../rules/triage.ts';

export interface AnalyzeDeps {
  readonly model: BccModel;
  readonly rules: RuleSet;
  readonly limits?: DecodeLimits;
  /**
   * The image gate (models/image-gate.json). With it, images that fail a quality check are not
   * scored and images the model's own gate outputs call not dermoscopic or out of distribution
   * have their scores withheld. Without it nothing is gated (tools that study the raw model).
   */
  readonly gate?: GateConfig;
  /** Images in flight at once (being decoded, preprocessed or run through the model); default DEFAULT_ANALYSIS_CONCURRENCY. */
  readonly concurrency?: number;
}

/**
 * Images analysed at once by default. Decoding and preprocessing run on libuv's thread pool (4
 * threads unless UV_THREADPOOL_SIZE says otherwise) and the model runs one image at a time, so 4 in
 * flight keep both busy (each image's inference overlaps the others' decoding); more would only hold
 * more decoded images and tensors waiting for the model, and N at once holds all N.
 */
export const DEFAULT_ANALYSIS_CONCURRENCY = 4;

/** Why an image was not scored: the gate's reasons, in words and numbers. */
export interface ImageRejection {
  /** `quality`: refused before the model ran; `model`: the model's modality/OOD outputs refused it. */
  readonly stage: 'quality' | 'model';
  readonly reasons: readonly GateReason[];
  readonly warnings: readonly GateReason[];
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
  /** Gate checks that flagged but did not refuse the image (e.g. the lesion touches the edge). */
  readonly warnings: readonly GateReason[];
}

export type ImageResult =
  | { readonly ok: true; readonly id: string; readonly image: DermoscopyImage; readonly analysis: ImageAnalysis }
  | {
      readonly ok: false;
      readonly id: string;
      readonly outcome: OperationOutcome;
      /** Set when the gate refused the image (it was readable); absent when it could not be read. */
      readonly rejection?: ImageRejection;
    };

function rejected(id: string, where: string, rejection: ImageRejection): ImageResult {
  const outcome = businessRule(`image not assessed: ${rejection.reasons.map((r) => r.text).join(' ')}`, where);
  return { ok: false, id, outcome, rejection };
}

function toOutcome(err: unknown): OperationOutcome {
  return err instanceof OperationOutcomeError ? err.outcome : serverError(`image analysis failed: ${(err as Error).message}`);
}

/**
 * Decode -> preprocess -> inference -> findings -> criterion -> triage, per image, at most
 * `deps.concurrency` images at once (mapConcurrent), results in input order. Each image goes to the
 * model as soon as it is decoded, so its inference overlaps the decoding of the others (a batch
 * costs the same CPU per image as single images on the target; bench/README.md). A bad image
 * becomes a failed result with an OperationOutcome; the others still run. A failing model rejects
 * the whole call (that is not the image's fault): no further image is started, and the call
 * rejects once the images already in flight have settled.
 */
export async function analyzeImages(deps: AnalyzeDeps, inputs: readonly ImageInput[]): Promise<ImageResult[]> {
  const { model, rules } = deps;
  const limits = deps.limits ?? DEFAULT_DECODE_LIMITS;
  // Calibrated operating points: the scale the calibrated probability is compared on.
  const points = operatingPoints(model.manifest);
  return mapConcurrent(inputs, deps.concurrency ?? DEFAULT_ANALYSIS_CONCURRENCY, async (inp): Promise<ImageResult> => {
    const where = inp.where ?? inp.id;
    let image: DermoscopyImage;
    let input: ModelInput;
    try {
      image = await decodeDermoscopy(inp.bytes, limits, where);
      input = await toModelInput(image, model.manifest.input, where);
    } catch (err) {
      return { ok: false, id: inp.id, outcome: toOutcome(err) };
    }
    const quality = deps.gate ? checkImageQuality(input.raster, image, deps.gate) : undefined;
    const warnings: GateReason[] = [...(quality?.warnings ?? [])];
    if (quality && !quality.accepted) {
      // Not scored at all: a blurred or burnt-out image gets no number to be misread.
      return rejected(inp.id, where, { stage: 'quality', reasons: quality.rejections, warnings });
    }
    const [out] = await model.infer([input.tensor]);
    if (!out) {
      return { ok: false, id: inp.id, outcome: serverError('not analysed') };
    }
    const modelGate = deps.gate ? judgeModelGate(out, model.manifest, deps.gate) : { rejections: [], warnings: [] };
    warnings.push(...modelGate.warnings);
    if (modelGate.rejections.length) {
      return rejected(inp.id, where, { stage: 'model', reasons: modelGate.rejections, warnings });
    }
    const findings = readFindings(out, model.manifest);
    const criterion = applyBccCriterion(findings.patterns, rules);
    const triage = assignTriage(findings.bccProbability, criterion, points, rules);
    return {
      ok: true,
      id: inp.id,
      image,
      analysis: {
        image: { width: image.width, height: image.height, format: image.format },
        region: input.region,
        findings,
        criterion,
        triage,
        cam: out.cam,
        warnings,
      },
    };
  });
}
