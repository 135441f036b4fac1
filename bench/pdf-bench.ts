/**
 * node --import tsx bench/pdf-bench.ts [--budget 5000]
 *
 * What the report's PDF (DiagnosticReport.presentedForm, src/report/presented-form-pdf.ts) costs a
 * hook: wall and CPU time and size for a referral of 3 synthetic 2 MP images, through the real model
 * and heatmaps first (untimed). Two cases: the heatmaps the model actually drew, and a worst case
 * of 3 overlays per image (BCC and two patterns present), the most the shipped model can draw.
 * A benchmark measures; the tests assert behaviour (test/report/presented-form-pdf.test.ts).
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { analyzeImages } from '../src/analysis/analyze-images.ts';
import { renderAnalysisHeatmaps } from '../src/analysis/analysis-heatmaps.ts';
import { DEFAULT_MODEL_MANIFEST, DEFAULT_RULES } from '../src/config.ts';
import { openModel } from '../src/model/session.ts';
import { buildTriageReport } from '../src/report/build-triage-report.ts';
import { renderTriagePdf } from '../src/report/presented-form-pdf.ts';
import { loadTerminology } from '../src/report/terminology.ts';
import type { ReferralImageOutcome } from '../src/report/triage-report.ts';
import { loadRuleSet } from '../src/rules/rule-set.ts';
import { describeMachine } from './machine.ts';
import { round, timeRuns } from './stats.ts';
import { syntheticDermoscopyJpeg } from './synthetic-images.ts';

const { values } = parseArgs({ options: { budget: { type: 'string', default: '5000' } } });
const budgetMs = Number(values.budget);
const now = new Date();

const model = await openModel(DEFAULT_MODEL_MANIFEST);
const [rules, terminology] = await Promise.all([loadRuleSet(DEFAULT_RULES), loadTerminology()]);
const bytes = await Promise.all([1, 2, 3].map((seed) => syntheticDermoscopyJpeg(1632, 1224, seed)));
const results = await analyzeImages({ model, rules }, bytes.map((b, k) => ({ id: String(k), bytes: b })));
const drawn: ReferralImageOutcome[] = await Promise.all(
  results.map(async (result, k) => ({ source: { reference: `Media/m${k + 1}` }, label: `Lesion ${k + 1}`, result, heatmaps: result.ok ? await renderAnalysisHeatmaps(result.analysis, model) : [] })),
);
const worst = drawn.map((i) => ({ ...i, heatmaps: [0, 1, 2].flatMap(() => i.heatmaps.slice(0, 1)) }));
await model.close();

console.log(JSON.stringify(describeMachine()));
for (const [name, images] of [['heatmaps as drawn', drawn], ['3 overlays per image (worst case)', worst]] as const) {
  const report = buildTriageReport({ referral: { resourceType: 'ServiceRequest', id: 'r1', status: 'draft', intent: 'order', subject: { reference: 'Patient/p1' } }, patient: { reference: 'Patient/p1' }, images, manifest: model.manifest, rules, terminology, now, newId: randomUUID });
  const pictures = images.reduce((n, i) => n + 1 + i.heatmaps.length, 0);
  const size = (await renderTriagePdf(report, images, now)).length;
  const t = await timeRuns(() => renderTriagePdf(report, images, now), { warmup: 2, iterations: 30, budgetMs });
  console.log(`${name}: 3 images of 2 MP, ${pictures} pictures: ${round(size / 1024)} KB; wall p50 ${round(t.wall.p50)} ms, p95 ${round(t.wall.p95)} ms (n=${t.wall.n}); CPU ${round(t.cpuMsPerRun)} ms/run`);
}
