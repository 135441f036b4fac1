/**
 * The cost of one image through each stage of the hook, at several input sizes, using the same
 * functions the hook calls (src/cds/triage-hook.ts), in order, one image at a time.
 */
import type { ServiceRequest } from 'fhir/r4';
import sharp from 'sharp';
import { analyzeImages } from '../src/analysis/analyze-images.ts';
import type { ImageResult } from '../src/analysis/analyze-images.ts';
import { toCard } from '../src/cards/to-card.ts';
import { DEFAULT_IMAGE_GATE, DEFAULT_RULES, DEFAULT_CONFIG } from '../src/config.ts';
import { selectCamChannel } from '../src/explain/cam-map.ts';
import { encodeOverlayPng, renderHeatmapPixels } from '../src/explain/heatmap-png.ts';
import type { OverlayPixels } from '../src/explain/heatmap-png.ts';
import type { OutputHeatmap } from '../src/explain/output-heatmaps.ts';
import { outputsToExplain, overlayFrame } from '../src/explain/output-heatmaps.ts';
import { createFhirGateway } from '../src/fhir/fhir-gateway.ts';
import { loadGateConfig } from '../src/gate/gate-config.ts';
import { checkImageQuality } from '../src/gate/quality-gate.ts';
import { decodeDermoscopy } from '../src/imaging/decode.ts';
import { toModelInput } from '../src/imaging/preprocess.ts';
import type { BccModel } from '../src/model/session.ts';
import { buildTriageReport } from '../src/report/build-triage-report.ts';
import { loadTerminology } from '../src/report/terminology.ts';
import { loadRuleSet } from '../src/rules/rule-set.ts';
import { createImageBinary } from './fhir-seed.ts';
import type { Timing } from './stats.ts';
import { timeRuns } from './stats.ts';
import type { ImageSize } from './synthetic-images.ts';
import { syntheticDermoscopyJpeg } from './synthetic-images.ts';

export const STAGES = ['fetch', 'decode', 'preprocess', 'gate', 'inference', 'cam', 'png', 'fhirBuild', 'json'] as const;
export type Stage = (typeof STAGES)[number];

export const STAGE_LABELS: Readonly<Record<Stage, string>> = {
  fetch: 'attachment fetch (FHIR server)',
  decode: 'decode (header, limits)',
  preprocess: 'preprocess (decode pixels, resize, tensor)',
  gate: 'image-quality gate (measures + judge, 224x224)',
  inference: 'inference (batch 1, worker thread)',
  cam: 'CAM -> overlay pixels',
  png: 'PNG encode',
  fhirBuild: 'FHIR resources + card',
  json: 'JSON serialisation',
};

export interface StageResult {
  readonly size: ImageSize;
  readonly jpegBytes: number;
  /** Overlays per image (BCC + patterns found present). */
  readonly heatmaps: number;
  readonly pngBytes: number;
  readonly responseBytes: number;
  readonly stages: Readonly<Record<Stage, Timing>>;
  /** A full-resolution decode, for reference: what shrink-on-load avoids. */
  readonly fullDecode: Timing;
  /** The same image fetched as a FHIR Binary resource (JSON, base64), for servers that answer so. */
  readonly fetchAsJson: Timing;
}

const REFERRAL: ServiceRequest = {
  resourceType: 'ServiceRequest',
  id: 'bench-referral',
  status: 'draft',
  intent: 'order',
  subject: { reference: 'Patient/bench' },
  code: { coding: [{ system: 'http://snomed.info/sct', code: '308472003', display: 'Referral to dermatologist' }] },
  performerType: { coding: [{ system: 'http://snomed.info/sct', code: '394582007', display: 'Dermatology' }] },
};

export async function benchStages(model: BccModel, fhirBaseUrl: string, sizes: readonly ImageSize[], budgetMs: number): Promise<StageResult[]> {
  const rules = await loadRuleSet(DEFAULT_RULES);
  const gateConfig = await loadGateConfig(DEFAULT_IMAGE_GATE);
  const terminology = await loadTerminology();
  const limits = { maxBytes: DEFAULT_CONFIG.maxImageBytes, maxPixels: DEFAULT_CONFIG.maxImagePixels, formats: ['jpeg', 'png', 'webp', 'tiff'] as const };
  const gateway = createFhirGateway({ baseUrl: fhirBaseUrl, accessToken: 'bench-token', timeoutMs: 10_000 });
  // A FHIR server that answers Binary reads with the resource (JSON, base64) instead of the bytes.
  const jsonGateway = createFhirGateway({
    baseUrl: fhirBaseUrl,
    accessToken: 'bench-token',
    timeoutMs: 10_000,
    fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), accept: 'application/fhir+json' } }),
  });
  const spec = model.manifest.input;
  const opts = { warmup: 2, iterations: 50, budgetMs };
  const results: StageResult[] = [];
  let n = 0;
  const newId = (): string => `00000000-0000-4000-8000-${(++n).toString(16).padStart(12, '0')}`;

  for (const size of sizes) {
    const bytes = await syntheticDermoscopyJpeg(size.width, size.height, 7);
    const url = await createImageBinary(fhirBaseUrl, bytes);
    // More warm-up: the FHIR server process compiles its read path on the first requests.
    const fetchRaw = await timeRuns(() => gateway.fetchAttachment(url, limits.maxBytes), { ...opts, warmup: 8 });
    const fetchAsJson = await timeRuns(() => jsonGateway.fetchAttachment(url, limits.maxBytes), { ...opts, warmup: 4 });
    const decode = await timeRuns(() => decodeDermoscopy(bytes, limits), opts);
    const image = await decodeDermoscopy(bytes, limits);
    const preprocess = await timeRuns(() => toModelInput(image, spec), opts);
    const { tensor, raster } = await toModelInput(image, spec);
    // The gate reads the raster preprocess already made: its cost is the measures and the judgement.
    const gate = await timeRuns(() => checkImageQuality(raster, image, gateConfig), opts);
    const inference = await timeRuns(() => model.infer([tensor]), opts);
    const fullDecode = await timeRuns(() => sharp(bytes, { limitInputPixels: false }).raw().toBuffer(), { ...opts, iterations: 10 });

    const [result] = await analyzeImages({ model, rules, limits }, [{ id: 'bench', bytes, where: 'Media/bench.content' }]);
    if (!result?.ok) {
      throw new Error(`bench image was not analysed: ${JSON.stringify(result)}`);
    }
    const a = result.analysis;
    const frame = overlayFrame(a.image, a.region);
    const maps = outputsToExplain(a.findings).map((o) => ({
      o,
      map: selectCamChannel(a.cam, model.cam.channels, model.cam.height, model.cam.width, model.manifest.outputs.cam.channels.indexOf(o.id)),
    }));
    const renderAll = (): OverlayPixels[] => maps.map((m) => renderHeatmapPixels(m.map, frame));
    const cam = await timeRuns(renderAll, opts);
    const pixels = renderAll();
    const encodeAll = (): Promise<Buffer[]> => Promise.all(pixels.map((p) => encodeOverlayPng(p)));
    const png = await timeRuns(encodeAll, opts);
    const pngs = await encodeAll();
    const heatmaps: OutputHeatmap[] = maps.map((m, k) => ({ output: m.o.id, display: m.o.display, png: pngs[k] ?? Buffer.alloc(0), width: frame.width, height: frame.height }));

    const build = (): ReturnType<typeof toCard> => buildCard(result, heatmaps);
    function buildCard(r: ImageResult, h: readonly OutputHeatmap[]): ReturnType<typeof toCard> {
      const report = buildTriageReport({
        referral: REFERRAL,
        patient: { reference: 'Patient/bench' },
        images: [{ source: { reference: 'Media/bench' }, label: 'Lesion 1', result: r, heatmaps: h }],
        manifest: model.manifest,
        rules,
        terminology,
        now: new Date('2026-01-01T00:00:00Z'),
        newId,
      });
      return toCard(report, { serviceLabel: 'BCC-CDS (bench)', modelCardUrl: 'http://localhost/model-card', newUuid: newId, terminology, referral: REFERRAL });
    }
    const fhirBuild = await timeRuns(build, opts);
    const response = { cards: [build()] };
    const json = await timeRuns(() => JSON.stringify(response), opts);
    results.push({
      size,
      jpegBytes: bytes.length,
      heatmaps: heatmaps.length,
      pngBytes: pngs.reduce((s, p) => s + p.length, 0),
      responseBytes: Buffer.byteLength(JSON.stringify(response)),
      stages: { fetch: fetchRaw, decode, preprocess, gate, inference, cam, png, fhirBuild, json },
      fullDecode,
      fetchAsJson,
    });
  }
  return results;
}
