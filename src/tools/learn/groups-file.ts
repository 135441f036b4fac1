/**
 * --groups <csv>: columns image,group, the lesion of each image, so that images of one lesion share
 * a cross-validation fold. Without it (or for an image it does not list) each image is its own group.
 */
import { readFile } from 'node:fs/promises';
import { OperationOutcomeError, badRequest } from '../../common/outcomes.ts';
import { parseCsv } from '../evaluation/labels.ts';

export interface ImageGroups {
  /** `file` when --groups was given, `image` when each image is its own group. */
  readonly source: 'file' | 'image';
  readonly path: string | null;
  readonly groupOf: ReadonlyMap<string, string>;
}

export function parseGroups(text: string, source: string): Map<string, string> {
  const [header = [], ...rows] = parseCsv(text);
  const cols = header.map((h) => h.trim());
  const [ii, gi] = [cols.indexOf('image'), cols.indexOf('group')];
  if (ii < 0 || gi < 0) {
    throw new OperationOutcomeError(badRequest('the groups file needs the columns image,group', `${source} header`));
  }
  const out = new Map<string, string>();
  rows.forEach((r, k) => {
    const [image, group] = [(r[ii] ?? '').trim(), (r[gi] ?? '').trim()];
    if (image === '' && group === '') {
      return;
    }
    const before = out.get(image);
    if (image === '' || group === '' || (before !== undefined && before !== group)) {
      throw new OperationOutcomeError(badRequest(`line ${k + 2}: image and group must be non-empty, one group per image`, source));
    }
    out.set(image, group);
  });
  return out;
}

export async function readGroups(path: string | undefined): Promise<ImageGroups> {
  if (path === undefined) {
    return { source: 'image', path: null, groupOf: new Map() };
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new OperationOutcomeError(badRequest(`cannot read groups: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, path), err);
  }
  return { source: 'file', path, groupOf: parseGroups(text, path) };
}
