/**
 * The labelled development set's index, labels.csv (format: ../shared/data/dermoscopy/README.md):
 * image,mask,group,source,diagnosis,bcc, then one column per dermoscopic pattern (1, 0, or empty =
 * not annotated). Pure parsing; the CLI reads the file.
 */
import { OperationOutcomeError, badRequest } from '../../common/outcomes.ts';

export type BinaryLabel = 0 | 1;

export interface LabelledImage {
  /** 1-based line in the file, for messages (counted in records: a quoted line break is not counted). */
  readonly line: number;
  /** Path relative to the data folder. */
  readonly image: string;
  readonly mask: string | undefined;
  /** Lesion id: images of one lesion share it. */
  readonly group: string;
  readonly source: string;
  readonly diagnosis: string;
  readonly bcc: BinaryLabel | undefined;
  /** Pattern id -> label; undefined = not annotated. */
  readonly patterns: Readonly<Record<string, BinaryLabel | undefined>>;
}

const BASE_COLUMNS = ['image', 'mask', 'group', 'source', 'diagnosis', 'bcc'] as const;
const REQUIRED_COLUMNS = ['image', 'source', 'bcc'] as const;

/**
 * RFC 4180 CSV: quoted fields may hold commas, doubled quotes and line breaks; CRLF or LF. A
 * trailing line break does not make an empty record.
 */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endRecord = (): void => {
    record.push(field);
    records.push(record);
    record = [];
    field = '';
  };
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') {
        i++;
      }
      endRecord();
    } else {
      field += c;
    }
  }
  if (quoted) {
    throw new OperationOutcomeError(badRequest('CSV ends inside a quoted field'));
  }
  if (field !== '' || record.length > 0) {
    endRecord();
  }
  return records;
}

function parseBinary(value: string, where: string): BinaryLabel | undefined {
  const v = value.trim();
  if (v === '') {
    return undefined;
  }
  if (v === '1' || v === '0') {
    return v === '1' ? 1 : 0;
  }
  throw new OperationOutcomeError(badRequest(`must be 1, 0 or empty, got "${value}"`, where));
}

/** Parses labels.csv; `source` names the file in messages. Blank lines are skipped. */
export function parseLabels(text: string, source = 'labels.csv'): LabelledImage[] {
  const [header, ...records] = parseCsv(text);
  if (!header) {
    throw new OperationOutcomeError(badRequest('file is empty', source));
  }
  const columns = header.map((h) => h.trim());
  const missing = REQUIRED_COLUMNS.filter((c) => !columns.includes(c));
  if (missing.length) {
    throw new OperationOutcomeError(badRequest(`missing column(s) ${missing.join(', ')}`, `${source} header`));
  }
  const index = (name: string): number => columns.indexOf(name);
  const patternColumns = columns.flatMap((c, k) => ((BASE_COLUMNS as readonly string[]).includes(c) ? [] : [{ id: c, k }]));
  const rows: LabelledImage[] = [];
  records.forEach((cells, r) => {
    const line = r + 2;
    if (cells.every((c) => c.trim() === '')) {
      return;
    }
    const cell = (name: string): string => (cells[index(name)] ?? '').trim();
    const image = cell('image');
    if (image === '') {
      throw new OperationOutcomeError(badRequest('image is empty', `${source} line ${line}`));
    }
    const patterns: Record<string, BinaryLabel | undefined> = {};
    for (const p of patternColumns) {
      patterns[p.id] = parseBinary(cells[p.k] ?? '', `${source} line ${line} column ${p.id}`);
    }
    rows.push({
      line,
      image,
      mask: cell('mask') || undefined,
      // An image without a lesion id is its own lesion: the bootstrap then resamples it alone.
      group: cell('group') || `image:${image}`,
      source: cell('source') || 'unknown',
      diagnosis: cell('diagnosis'),
      bcc: parseBinary(cell('bcc'), `${source} line ${line} column bcc`),
      patterns,
    });
  });
  return rows;
}
