import type { ModelManifest } from '../model/manifest.ts';
import type { SourceEstimate } from '../model/source-figures.ts';
import { leaveOneSourceOutBySource, outOfFoldBySource } from '../model/source-figures.ts';

const cell = (v: number | undefined): string => (v === undefined ? '–' : v.toFixed(3));

function row(source: string, estimate: string, e: SourceEstimate): string {
  return `| ${source} | ${estimate} | ${cell(e.bccAuc)} | ${cell(e.triageSensitivity)} / ${cell(e.triageSpecificity)} | ${cell(e.gateDermoscopicAccepted)} | ${cell(e.gateClinicalRefused)} | ${cell(e.pigmentNetworkSensitivityAtSpecificity90)} |`;
}

/**
 * The model card's per-source section (issue #21): grouped out-of-fold figures beside the
 * leave-one-source-out ones, then the issue's targets per held-out source and whether each is met.
 * Empty when the manifest has neither.
 */
export function writeSourceFiguresMarkdown(manifest: ModelManifest): string[] {
  const oof = outOfFoldBySource(manifest);
  const loso = manifest.loso;
  const losoFigures = leaveOneSourceOutBySource(manifest);
  if (!oof && !loso) {
    return [];
  }
  const sources = [...new Set([...Object.keys(oof?.bySource ?? {}), ...Object.keys(loso?.heldOut ?? {})])].filter((s) => s !== 'all').sort();
  const lines = [
    '## Figures per source',
    '',
    'Grouped out-of-fold: the shipped recipe, 5-fold cross-validation grouped by lesion on both sources (every source seen in training). ' +
      'Leave one source out: the same recipe fit on the other source(s) and measured on the held-out one, the honest view of an unseen clinic' +
      (loso ? ` (${loso.fit}; from ${loso.from})` : '') +
      '. Figures of `npm run evaluate` on the development set itself are in-sample and not shown here.',
    '',
    '| source | estimate | BCC AUC | triage sensitivity / specificity | gate: dermoscopic accepted | gate: clinical photos refused | pigment network sensitivity at specificity 0.9 |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const s of sources) {
    const o = oof?.bySource[s];
    if (o) {
      lines.push(row(s, 'grouped out-of-fold', o));
    }
    const l = losoFigures?.bySource[s];
    const h = loso?.heldOut[s];
    if (l && h) {
      lines.push(row(s, `held out (trained on ${h.trainedOn.join(', ')})`, l));
    }
  }
  if (loso) {
    const held = Object.keys(loso.heldOut).sort();
    lines.push('', `Issue #21's targets on a source the training did not see (${loso.recipe}):`, '', `| target | ${held.map((s) => `${s} held out`).join(' | ')} |`, `| --- | ${held.map(() => '---').join(' | ')} |`);
    for (const t of loso.targets) {
      const cells = held.map((s) => {
        const r = loso.heldOut[s]?.targets.find((x) => x.id === t.id);
        if (r?.value === null || r === undefined) {
          return 'not measurable';
        }
        const verdict = r.met === null ? 'reference (1.5.0 recipe)' : r.met ? 'met' : 'not met';
        return `${r.value.toFixed(3)}: ${verdict}`;
      });
      lines.push(`| ${t.text}${t.min === null ? '' : ` (>= ${t.min})`} | ${cells.join(' | ')} |`);
    }
  }
  lines.push('');
  return lines;
}
