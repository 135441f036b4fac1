/**
 * Example instances of every BCC-CDS profile, from a real run of the shipped model on a synthetic
 * drawn lesion (src/sandbox/synthetic-lesion.ts, the demo's picture; never a research image): decode ->
 * model -> rules -> heatmaps -> buildTriageReport, exactly as the hook does. Ids and the clock are
 * pinned, so a re-run with the same model gives the same files. Every file is validated against the
 * profiles before it is written; any error fails the build.
 *
 *   node --experimental-websocket --import tsx scripts/make-examples.ts [--out fhir-profiles/examples]
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { FhirResource, ServiceRequest } from 'fhir/r4';
import { analyzeImages } from '../src/analysis/analyze-images.ts';
import { PROJECT_ROOT, modelPaths } from '../src/config.ts';
import { renderAnalysisHeatmaps } from '../src/analysis/analysis-heatmaps.ts';
import { openModel } from '../src/model/session.ts';
import { loadResourceValidator } from '../src/tools/profiles/validate-resource.ts';
import { errorIssues, formatIssue } from '../src/tools/profiles/validation-issues.ts';
import { buildTriageReport } from '../src/report/build-triage-report.ts';
import { renderTriagePdf, withPresentedFormPdf } from '../src/report/presented-form-pdf.ts';
import { loadTerminology } from '../src/report/terminology.ts';
import { toTransactionBundle } from '../src/report/transaction-bundle.ts';
import type { ReferralImageOutcome } from '../src/report/triage-report.ts';
import { loadRuleSet } from '../src/rules/rule-set.ts';
import { telangiectaticLesionJpeg } from '../src/sandbox/synthetic-lesion.ts';

const DEFAULT_OUT = resolve(PROJECT_ROOT, 'fhir-profiles/examples');
const NOW = new Date('2026-11-27T09:30:00Z');
const IMAGE = { width: 640, height: 480 } as const;

const referral: ServiceRequest = {
  resourceType: 'ServiceRequest',
  id: 'example-referral',
  status: 'active',
  intent: 'order',
  priority: 'routine',
  subject: { reference: 'Patient/example' },
  code: { coding: [{ system: 'http://snomed.info/sct', code: '308472003', display: 'Referral to dermatologist' }] },
  performerType: { coding: [{ system: 'http://snomed.info/sct', code: '394582007', display: 'Dermatology' }] },
};

/** Readable, valid v4-shaped UUIDs: …-000000000001, …-000000000002, … */
function counterIds(): () => string {
  let n = 0;
  return () => `00000000-0000-4000-8000-${(++n).toString(16).padStart(12, '0')}`;
}

/** Our profile's id, else the first claimed profile's (the model card claims only the IG's AI-ModelCard). */
function profileId(r: FhirResource): string {
  const claimed = r.meta?.profile ?? [];
  const ours = claimed.find((p) => p.startsWith('http://bcc-cds.org/')) ?? claimed[0];
  return ours?.split('/').pop() ?? 'unprofiled';
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const out = values.out ? resolve(values.out) : DEFAULT_OUT;
  const paths = modelPaths();
  const model = await openModel(paths.manifest);
  const rules = await loadRuleSet(paths.rules);
  const terminology = await loadTerminology();
  const bytes = await telangiectaticLesionJpeg(IMAGE.width, IMAGE.height);
  const [result] = await analyzeImages({ model, rules }, [{ id: 'Media/example-dermoscopy-1', where: 'Media/example-dermoscopy-1.content', bytes }]);
  await model.close();
  if (!result?.ok) {
    throw new Error(`the synthetic image was not analysed: ${JSON.stringify(result)}`);
  }
  const a = result.analysis;
  const heatmaps = await renderAnalysisHeatmaps(a, model);
  const image: ReferralImageOutcome = {
    source: { reference: 'Media/example-dermoscopy-1' },
    label: 'Left cheek, dermoscopy 1 (synthetic test image)',
    bodySite: { text: 'Left cheek' },
    result,
    heatmaps,
  };
  const built = buildTriageReport({
    referral,
    patient: { reference: 'Patient/example' },
    images: [image],
    manifest: model.manifest,
    rules,
    terminology,
    now: NOW,
    newId: counterIds(),
  });
  // As the hook does (assessReferral): the report's PDF in presentedForm.
  const report = withPresentedFormPdf(built, await renderTriagePdf(built, [image], NOW), NOW);

  // One file per profile (the first resource claiming it), and the whole transaction.
  const r = report.resources;
  const examples = new Map<string, FhirResource>();
  for (const res of [r.report, ...r.observations, ...r.media, r.device, r.modelCard, r.provenance]) {
    const name = `${res.resourceType}-${profileId(res)}.json`;
    if (!examples.has(name)) {
      examples.set(name, res);
    }
  }
  const files: [string, unknown][] = [...examples.entries(), ['Bundle-bcc-triage-transaction.json', toTransactionBundle(report)]];

  const validator = await loadResourceValidator();
  let failed = 0;
  for (const [name, json] of files) {
    for (const i of errorIssues(validator.validateResource(json, { requireProfile: name !== 'Bundle-bcc-triage-transaction.json' }))) {
      process.stderr.write(`make-examples: ${name}: ${formatIssue(i)}\n`);
      failed++;
    }
  }
  if (failed) {
    return 1;
  }
  await mkdir(out, { recursive: true });
  for (const f of await readdir(out)) {
    if (f.endsWith('.json')) {
      await rm(join(out, f));
    }
  }
  for (const [name, json] of files) {
    await writeFile(join(out, name), `${JSON.stringify(json, null, 2)}\n`);
  }
  process.stdout.write(
    `make-examples: ${files.length} files in ${out} (model ${model.manifest.name} ${model.manifest.version}; ` +
      `BCC p=${a.findings.bccProbability.toFixed(4)}, triage ${report.category}; ${heatmaps.length} heatmap(s))\n`,
  );
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`make-examples: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
