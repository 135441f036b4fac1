import type { Coding, Device, DiagnosticReport, Media, Observation } from 'fhir/r4';
import type { ModelManifest } from '../model/manifest.ts';
import { HEATMAP_DESCRIPTION_NOTE } from '../report/heatmap-media.ts';
import type { Terminology } from '../report/terminology.ts';
import { describeRisk } from '../rules/risk-statement.ts';
import type { ViewerImage, ViewerModel, ViewerOverlay, ViewerPattern } from './viewer-model.ts';
import { VIEWER_DISCLAIMER, pngDataUrl, toViewerRisk } from './viewer-model.ts';

/** A triage report as saved in a FHIR server: the DiagnosticReport and what it points at. */
export interface SavedReport {
  readonly report: DiagnosticReport;
  readonly observations: readonly Observation[];
  /** The heatmap overlays (DiagnosticReport.media). */
  readonly media: readonly Media[];
  /** The model, from Observation.device; absent when it could not be read. */
  readonly device?: Device;
}

export interface FhirViewerContext {
  readonly terminology: Pick<Terminology, 'codeSystems' | 'observation' | 'media'>;
  /** The installed model: pattern order and names; a pattern with no Observation is "not assessed". */
  readonly manifest: Pick<ModelManifest, 'name' | 'version' | 'patterns' | 'riskBands'>;
}

function sameCoding(a: Coding | undefined, b: Pick<Coding, 'system' | 'code'>): boolean {
  return a !== undefined && a.system === b.system && a.code === b.code;
}

function extensionOf(m: Media, url: string): NonNullable<Media['extension']>[number] | undefined {
  return m.extension?.find((e) => e.url === url);
}

interface ImageGroup {
  bcc?: Observation;
  readonly patterns: Observation[];
  readonly overlays: ViewerOverlay[];
}

function toOverlay(ctx: FhirViewerContext, m: Media): ViewerOverlay | undefined {
  const png = pngDataUrl(m);
  const explained = extensionOf(m, ctx.terminology.media.explainedOutputExtension)?.valueCoding;
  if (!png || !explained?.code) {
    return undefined;
  }
  const output = sameCoding(explained, ctx.terminology.observation.bccProbability) ? 'bcc' : explained.code;
  const description = m.note?.at(HEATMAP_DESCRIPTION_NOTE)?.text;
  return { output, title: m.content.title ?? explained.display ?? output, png, width: m.width ?? 0, height: m.height ?? 0, ...(description ? { description } : {}) };
}

function toPatterns(ctx: FhirViewerContext, observations: readonly Observation[]): ViewerPattern[] {
  const system = ctx.terminology.codeSystems.dermoscopicPattern.url;
  const seen = new Map<string, ViewerPattern>();
  for (const o of observations) {
    const coding = o.code.coding?.find((c) => c.system === system);
    if (!coding?.code) {
      continue;
    }
    const probability = o.component?.[0]?.valueQuantity?.value;
    const threshold = o.component?.[0]?.referenceRange?.[0]?.low?.value;
    seen.set(coding.code, {
      id: coding.code,
      display: o.code.text ?? coding.display ?? coding.code,
      status: o.valueBoolean ? 'present' : 'absent',
      ...(probability !== undefined ? { probability } : {}),
      ...(threshold !== undefined ? { threshold } : {}),
    });
  }
  // The service writes no Observation for a pattern its model does not assess.
  const fromManifest = ctx.manifest.patterns.map((p): ViewerPattern => seen.get(p.id) ?? { id: p.id, display: p.display, status: 'not-assessed' });
  const extra = [...seen.values()].filter((p) => !ctx.manifest.patterns.some((m) => m.id === p.id));
  return [...fromManifest, ...extra];
}

/**
 * Rebuilds the viewer's model from the saved FHIR resources, so the viewer works for a report that
 * is no longer (or never was) in this process's memory. What FHIR does not carry is left out: the
 * images that could not be read, and which image set the priority when several share the category.
 */
export function viewerModelFromFhir(saved: SavedReport, ctx: FhirViewerContext): ViewerModel {
  const t = ctx.terminology;
  const groups = new Map<string, ImageGroup>();
  const group = (source: string): ImageGroup => {
    let g = groups.get(source);
    if (!g) {
      g = { patterns: [], overlays: [] };
      groups.set(source, g);
    }
    return g;
  };
  for (const o of saved.observations) {
    const source = o.derivedFrom?.[0]?.reference;
    if (!source) {
      continue;
    }
    if (o.code.coding?.some((c) => sameCoding(c, t.observation.bccProbability))) {
      group(source).bcc = o;
    } else {
      group(source).patterns.push(o);
    }
  }
  for (const m of saved.media) {
    const source = extensionOf(m, t.media.sourceImageExtension)?.valueReference?.reference;
    const overlay = toOverlay(ctx, m);
    if (source && overlay) {
      group(source).overlays.push(overlay);
    }
  }

  const r = saved.report;
  const triage = r.conclusionCode?.flatMap((c) => c.coding ?? []).find((c) => c.system === t.codeSystems.triageCategory.url);
  const categoryDisplay = triage?.display ?? r.conclusionCode?.[0]?.text ?? 'Triage category not recorded';
  let rules: ViewerModel['rules'];
  const images = [...groups].map(([source, g], index): ViewerImage => {
    const bcc = g.bcc;
    const decidedBy = bcc?.method?.coding?.find((c) => c.system?.startsWith(t.observation.triageRuleSystemBase));
    if (decidedBy?.system && decidedBy.version) {
      rules ??= { id: decidedBy.system.slice(t.observation.triageRuleSystemBase.length), version: decidedBy.version };
    }
    const category = bcc?.component?.find((c) => c.code.coding?.some((x) => sameCoding(x, t.observation.imageTriageCategory)))?.valueCodeableConcept;
    const categoryDisplay = category?.text ?? category?.coding?.[0]?.display;
    const probability = bcc?.valueQuantity?.value;
    const positive = bcc?.interpretation?.[0]?.coding?.some((c) => sameCoding(c, t.observation.interpretation.positive));
    return {
      index,
      source,
      label: bcc?.derivedFrom?.[0]?.display ?? source,
      ok: true,
      ...(categoryDisplay ? { categoryDisplay } : {}),
      ...(probability !== undefined ? { bccProbability: probability } : {}),
      ...(bcc?.interpretation ? { networkVerdict: positive ? 'bcc' : 'not-bcc' } : {}),
      ...(decidedBy?.code ? { rule: decidedBy.code } : {}),
      // note[0] names the image for a reader of the chart; the rule trace follows it.
      trace: (bcc?.note ?? []).slice(1).flatMap((n) => (n.text ? [n.text] : [])),
      patterns: toPatterns(ctx, g.patterns),
      overlays: g.overlays,
    };
  });
  // The deciding image: the most probable among those with the report's category.
  const candidates = images.filter((i) => i.categoryDisplay === categoryDisplay);
  const deciding = (candidates.length ? candidates : images).reduce<ViewerImage | undefined>(
    (best, i) => (best === undefined || (i.bccProbability ?? -1) > (best.bccProbability ?? -1) ? i : best),
    undefined,
  );
  const device = saved.device;
  const deviceVersion = device?.version?.[0]?.value;
  // FHIR keeps the risk only as conclusion text; the installed model's bands tell it again, but only
  // for a report that model is known to have made (another version's bands may differ; an unreadable
  // Device says nothing).
  const risk =
    ctx.manifest.riskBands && deciding?.bccProbability !== undefined && deviceVersion === ctx.manifest.version
      ? toViewerRisk(describeRisk(deciding.bccProbability, ctx.manifest.riskBands))
      : undefined;
  return {
    reportId: r.id ?? '',
    origin: 'fhir',
    status: r.status,
    ...(triage?.code ? { category: triage.code } : {}),
    categoryDisplay,
    ...(deciding?.bccProbability !== undefined ? { bccProbability: deciding.bccProbability } : {}),
    ...(risk ? { risk } : {}),
    conclusion: r.conclusion ?? '',
    ...(r.issued ? { issued: r.issued } : {}),
    ...(r.basedOn?.[0]?.reference ? { referral: r.basedOn[0].reference } : {}),
    ...(r.subject?.reference ? { patient: r.subject.reference } : {}),
    model: {
      name: device?.deviceName?.[0]?.name ?? ctx.manifest.name,
      version: deviceVersion ?? ctx.manifest.version,
      modelCardPath: '/model-card',
    },
    ...(rules ? { rules } : {}),
    disclaimer: VIEWER_DISCLAIMER,
    images: images.map((i) => (i === deciding ? { ...i, deciding: true } : i)),
  };
}
