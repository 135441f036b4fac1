/**
 * Writes the consensus as the development set's labels.csv (../shared/data/dermoscopy/README.md):
 * image,mask,group,source,diagnosis,bcc, then the pattern columns in manifest order.
 *
 * Without a base file there is one row per annotated image, in sheet order; the image cell is the
 * sheet's text, and mask/group/source/diagnosis are empty (unknown). With a base labels.csv every
 * base row is kept in order with its other cells, the consensus replaces only the cells it decided
 * (image + label pairs someone voted on), and images with a decided label that the base lacks are
 * appended (with empty metadata: train.py needs bcc, group and source, so the report warns).
 *
 * Soft labels (`soft`): the EM posterior, 4 decimals, instead of 0/1. Exception: a label whose
 * consensus has no positive image is written as hard 0s, because train.py marks a pattern trained
 * when its column sums above 0 and a head "trained" on posteriors like 0.003 would ship with no
 * positive example behind it.
 */
import { parseCsv } from '../evaluation/labels.ts';
import { OperationOutcomeError, badRequest } from '../../common/outcomes.ts';
import { formatCsv } from './csv-write.ts';
import type { LabelConsensus } from './label-consensus.ts';

export const METADATA_COLUMNS = ['image', 'mask', 'group', 'source', 'diagnosis'] as const;

export interface ConsensusLabelsInput {
  /** Images in sheet order. */
  readonly images: readonly string[];
  /** Label columns in output order: bcc, then the manifest's pattern ids. */
  readonly labels: readonly string[];
  readonly results: readonly LabelConsensus[];
  readonly soft: boolean;
  /** A labels.csv to start from (text), and its name for messages. */
  readonly base?: { readonly text: string; readonly source: string } | undefined;
}

export interface BaseComparison {
  /** Base cells the consensus decided that held 0/1. */
  readonly compared: number;
  /** Of those, how many the consensus changed (hard consensus vs base). */
  readonly changed: number;
  /** Annotated images absent from the base, appended at the end. */
  readonly appended: number;
}

export interface ConsensusLabels {
  readonly csv: string;
  /** Labels written as hard 0/1 although soft was asked (no positive consensus). */
  readonly hardened: readonly string[];
  readonly base: Readonly<Record<string, BaseComparison>> | null;
  /** Images appended after the base rows (none without a base). */
  readonly appended: readonly string[];
}

/** 4 decimals, trailing zeros dropped: 1, 0, 0.9731. */
export function formatProbability(p: number): string {
  return String(Number(p.toFixed(4)));
}

function readBase(text: string, source: string): { header: string[]; rows: string[][] } {
  const [header, ...rows] = parseCsv(text);
  const columns = (header ?? []).map((h) => h.trim());
  if (!columns.includes('image')) {
    throw new OperationOutcomeError(badRequest('missing column image', `${source} header`));
  }
  return { header: columns, rows: rows.filter((r) => r.some((c) => c.trim() !== '')) };
}

export function formatConsensusLabels(input: ConsensusLabelsInput): ConsensusLabels {
  const header = [...METADATA_COLUMNS, ...input.labels];
  const hardened = input.soft
    ? input.results.filter((r) => r.status !== 'not-annotated' && !r.items.some((i) => i.consensus === 1)).map((r) => r.label)
    : [];
  const decided = new Map<string, Map<string, string>>();
  const items = new Map(input.results.map((r) => [r.label, new Map(r.items.map((i) => [i.image, i]))]));
  for (const r of input.results) {
    const soft = input.soft && !hardened.includes(r.label);
    decided.set(r.label, new Map(r.items.map((i) => [i.image, soft ? formatProbability(i.posterior) : String(i.consensus)])));
  }
  const cellsFor = (image: string, from: (column: string) => string): string[] =>
    header.map((c) => (c === 'image' ? image : (decided.get(c)?.get(image) ?? from(c))));
  if (!input.base) {
    return { csv: formatCsv([header, ...input.images.map((image) => cellsFor(image, () => ''))]), hardened, base: null, appended: [] };
  }
  const base = readBase(input.base.text, input.base.source);
  const index = new Map(base.header.map((c, k) => [c, k]));
  const stats = new Map(input.results.map((r) => [r.label, { compared: 0, changed: 0, appended: 0 }]));
  const inBase = new Set<string>();
  const rows = base.rows.map((cells) => {
    const get = (c: string): string => {
      const k = index.get(c);
      return k === undefined ? '' : (cells[k] ?? '').trim();
    };
    const image = get('image');
    inBase.add(image);
    for (const r of input.results) {
      const item = items.get(r.label)?.get(image);
      const was = get(r.label);
      if (item && (was === '0' || was === '1')) {
        const s = stats.get(r.label)!;
        s.compared++;
        s.changed += String(item.consensus) === was ? 0 : 1;
      }
    }
    return cellsFor(image, get);
  });
  // An image whose every vote was empty decides nothing: appending it would add a row of blanks.
  const extra = input.images.filter((image) => !inBase.has(image) && [...items.values()].some((m) => m.has(image)));
  for (const r of input.results) {
    stats.get(r.label)!.appended = extra.filter((image) => items.get(r.label)?.has(image)).length;
  }
  return {
    csv: formatCsv([header, ...rows, ...extra.map((image) => cellsFor(image, () => ''))]),
    hardened,
    base: Object.fromEntries(stats),
    appended: extra,
  };
}

export const POSTERIOR_COLUMNS = ['image', 'label', 'posterior', 'consensus', 'majority', 'positive_votes', 'votes'] as const;

/** Long format, one row per image and decided label: what EM concluded and from which votes. */
export function formatPosteriors(results: readonly LabelConsensus[]): string {
  const rows = results.flatMap((r) =>
    r.items.map((i) => [i.image, r.label, formatProbability(i.posterior), String(i.consensus), String(i.majority.decision), String(i.majority.positives), String(i.majority.votes)]),
  );
  return formatCsv([[...POSTERIOR_COLUMNS], ...rows]);
}
