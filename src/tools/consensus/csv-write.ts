/**
 * RFC 4180 output, the counterpart of parseCsv (src/tools/evaluation/labels.ts): a field is quoted only
 * when it holds a comma, a quote or a line break, so plain labels.csv rows stay byte-identical to
 * the development set's.
 */
export function formatCsvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** Rows joined with LF, ending with one (as the development set's labels.csv). */
export function formatCsv(rows: readonly (readonly string[])[]): string {
  return rows.map((r) => r.map(formatCsvField).join(',')).join('\n') + '\n';
}
