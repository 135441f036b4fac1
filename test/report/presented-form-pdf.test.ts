/**
 * The report's PDF (DiagnosticReport.presentedForm), tested by reading it back as a viewer would:
 * pdf.js parses it, extracts its text and lists its drawing operations. Three synthetic 2 MP
 * dermoscopy-like images go through the real model, heatmaps and report builder first.
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ServiceRequest } from 'fhir/r4';
import { getDocument, OPS } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { syntheticDermoscopyJpeg } from '../../bench/synthetic-images.ts';
import { analyzeImages } from '../../src/analysis/analyze-images.ts';
import { renderAnalysisHeatmaps } from '../../src/analysis/analysis-heatmaps.ts';
import { DEFAULT_MODEL_MANIFEST, DEFAULT_RULES } from '../../src/config.ts';
import type { BccModel } from '../../src/model/session.ts';
import { openModel } from '../../src/model/session.ts';
import { buildTriageReport } from '../../src/report/build-triage-report.ts';
import { DECISION_SUPPORT_NOTICE } from '../../src/report/notice.ts';
import { PDF_TITLE, renderTriagePdf, toWinAnsi, withPresentedFormPdf } from '../../src/report/presented-form-pdf.ts';
import { loadTerminology } from '../../src/report/terminology.ts';
import type { ReferralImageOutcome, TriageReport } from '../../src/report/triage-report.ts';
import { loadRuleSet } from '../../src/rules/rule-set.ts';
import { describeRisk } from '../../src/rules/risk-statement.ts';
import { assertValid, validator } from '../tools/profiles/helpers.ts';

const STANDARD_FONTS = `${join(dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json')), 'standard_fonts')}/`;
const NOW = new Date('2026-12-02T10:00:00Z');
const referral: ServiceRequest = { resourceType: 'ServiceRequest', id: 'ref-1', status: 'draft', intent: 'order', subject: { reference: 'Patient/p1' } };

interface ReadBack {
  readonly pages: number;
  readonly text: string;
  readonly images: number;
  /** Filled paths: the icon arrays' squares. */
  readonly fills: number;
}

async function readBack(pdf: Buffer): Promise<ReadBack> {
  const doc = await getDocument({ data: new Uint8Array(pdf), standardFontDataUrl: STANDARD_FONTS, verbosity: 0 }).promise;
  const texts: string[] = [];
  let images = 0;
  let fills = 0;
  for (let n = 1; n <= doc.numPages; n++) {
    const page = await doc.getPage(n);
    const content = await page.getTextContent();
    texts.push(content.items.map((i) => ('str' in i ? i.str : '')).join(' '));
    const ops = await page.getOperatorList();
    images += ops.fnArray.filter((f) => f === OPS.paintImageXObject).length;
    fills += ops.fnArray.filter((f) => f === OPS.fill || f === OPS.eoFill).length;
  }
  await doc.destroy();
  return { pages: doc.numPages, text: texts.join(' ').replace(/\s+/g, ' '), images, fills };
}

describe('presentedForm PDF', () => {
  let model: BccModel;
  let report: TriageReport;
  let images: ReferralImageOutcome[];
  let pdf: Buffer;
  before(async () => {
    model = await openModel(DEFAULT_MODEL_MANIFEST);
    const [rules, terminology] = await Promise.all([loadRuleSet(DEFAULT_RULES), loadTerminology()]);
    const bytes = await Promise.all([1, 2, 3].map((seed) => syntheticDermoscopyJpeg(1632, 1224, seed)));
    const results = await analyzeImages({ model, rules }, bytes.map((b, k) => ({ id: String(k), bytes: b })));
    images = await Promise.all(
      results.map(async (result, k) => ({
        source: { reference: `Media/m${k + 1}` },
        label: `Lesion ${k + 1} <back>`,
        result,
        heatmaps: result.ok ? await renderAnalysisHeatmaps(result.analysis, model) : [],
      })),
    );
    report = buildTriageReport({ referral, patient: { reference: 'Patient/p1' }, images, manifest: model.manifest, rules, terminology, now: NOW, newId: randomUUID, viewerBaseUrl: 'https://viewer.example.org/r' });
    pdf = await renderTriagePdf(report, images, NOW);
  });
  after(async () => {
    await model.close();
  });

  it('stays under 300 KB for three 2 MP images with their heatmaps', () => {
    assert.ok(pdf.length <= 300 * 1024, `${pdf.length} bytes`);
    assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
  });

  it('reads back with the priority, what it means, the risk statement, patterns, trace, versions and the notice', async () => {
    const { text } = await readBack(pdf);
    const has = (s: string): void => {
      assert.ok(text.includes(toWinAnsi(s).replace(/\s+/g, ' ')), `missing: ${s}`);
    };
    has(`Priority: ${report.categoryDisplay}`);
    has(report.categoryMeaning);
    assert.ok(report.risk, 'the shipped manifest has risk bands');
    has(`What the score means: ${report.risk.text}`);
    has(DECISION_SUPPORT_NOTICE);
    has(`${model.manifest.name} ${model.manifest.version}`);
    has(`${report.rules.id} ${report.rules.version}`);
    has('Lesion 1 <back>');
    for (const s of report.imageSummaries) {
      assert.ok(s.ok);
      has(`1. ${s.trace[0] ?? ''}`);
      has(s.categoryDisplay);
    }
    assert.match(text, /Not assessed by this model: Ulceration/);
    assert.doesNotMatch(text, /likely/i);
  });

  it('embeds each image and each of its heatmap overlays', async () => {
    const expected = images.reduce((n, i) => n + 1 + i.heatmaps.length, 0);
    assert.ok(expected >= 6, 'three images, each with at least its BCC heatmap');
    assert.equal((await readBack(pdf)).images, expected);
  });

  it('draws the risk as two icon arrays of 100 (the score\'s band, the base rate) when it is stated per 100', async () => {
    const riskBands = model.manifest.riskBands;
    assert.ok(riskBands);
    const per100 = describeRisk(0.27, riskBands);
    const withArrays = await readBack(await renderTriagePdf({ ...report, risk: per100 }, images, NOW));
    const without = await readBack(await renderTriagePdf({ ...report, risk: describeRisk(0.001, riskBands) }, images, NOW));
    assert.equal(withArrays.fills - without.fills, 200, 'two arrays of 100 squares');
    assert.ok(withArrays.text.includes(`${per100.frequency} in 100 were BCC: lesions scored like this (validation)`), withArrays.text);
    assert.ok(withArrays.text.includes(`${per100.baseRate} in 100 were BCC: all of the development images`));
    assert.ok(!without.text.includes('in 100 were BCC: lesions scored like this'), 'per 1,000: no array of 100');
  });

  it('goes first into DiagnosticReport.presentedForm as base64 with size and SHA-1, the viewer link after it', () => {
    const withPdf = withPresentedFormPdf(report, pdf, NOW);
    const [form, link] = withPdf.resources.report.presentedForm ?? [];
    assert.equal(form?.contentType, 'application/pdf');
    assert.equal(form.title, PDF_TITLE);
    assert.equal(form.creation, NOW.toISOString());
    const data = Buffer.from(form.data ?? '', 'base64');
    assert.ok(data.equals(pdf));
    assert.equal(form.size, pdf.length);
    assert.equal(form.hash, createHash('sha1').update(pdf).digest('base64'));
    assert.equal(link?.url, report.viewerUrl);
    assert.equal(report.resources.report.presentedForm?.length, 1, 'the input report is not changed');
    assertValid(validator.validateResource(withPdf.resources.report, { requireProfile: true }), 'DiagnosticReport with its PDF');
  });

  it('writes what the standard fonts cannot show as a near equivalent or "?"', () => {
    assert.equal(toWinAnsi('p ≥ 0.5 → Wange 頬 — “ok”'), 'p >= 0.5 -> Wange ? — “ok”');
  });
});
