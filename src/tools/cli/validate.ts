/**
 * npm run validate -- <file.json|bundle.json ...> [--verbose] [--profiles <dir>]
 * Checks FHIR R4 JSON against R4 and the BCC-CDS profiles its meta.profile names (a Bundle: every
 * entry, and the links between entries). Prints `<file>: OK` or one line per error and warning
 * (`--verbose` adds informational notes), then what the validator did not check: the constructs of
 * the claimed profiles it cannot evaluate (named, never passed silently) and its general limits.
 * Exit 0 when no file has an error, 1 when one has, 2 on bad usage. Offline: the profiles are read
 * from fhir-profiles/fsh-generated/resources and fhir-profiles/aitransparency/resources (`npm run ig`).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';
import { describeOutcome, OperationOutcomeError } from '../../common/outcomes.ts';
import { loadResourceValidator } from '../profiles/validate-resource.ts';
import { GENERAL_LIMITS, uncheckedNotes } from '../profiles/unchecked.ts';
import { errorIssues, formatIssue } from '../profiles/validation-issues.ts';

const USAGE = 'usage: npm run validate -- <file.json|bundle.json ...> [--verbose] [--profiles <dir>]\n';

async function readJsonFile(path: string): Promise<{ ok: true; json: unknown } | { ok: false; text: string }> {
  try {
    return { ok: true, json: JSON.parse(await readFile(path, 'utf8')) };
  } catch (err) {
    return { ok: false, text: err instanceof Error ? err.message : String(err) };
  }
}

function shown(issues: readonly OperationOutcomeIssue[], verbose: boolean): OperationOutcomeIssue[] {
  return issues.filter((i) => i.code !== 'informational' && (verbose || i.severity !== 'information') && !(i.severity === 'information' && i.code === 'not-supported'));
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { verbose: { type: 'boolean', default: false }, profiles: { type: 'string' }, help: { type: 'boolean', default: false } },
  });
  if (values.help || positionals.length === 0) {
    process.stderr.write(USAGE);
    return 2;
  }
  const validator = await loadResourceValidator(values.profiles);
  let failed = false;
  const outcomes: OperationOutcome[] = [];
  for (const file of positionals) {
    const read = await readJsonFile(file);
    if (!read.ok) {
      process.stdout.write(`${file}: error cannot read JSON: ${read.text}\n`);
      failed = true;
      continue;
    }
    const outcome = validator.validateResource(read.json);
    outcomes.push(outcome);
    const errors = errorIssues(outcome);
    failed ||= errors.length > 0;
    const lines = shown(outcome.issue, values.verbose);
    if (!errors.length) {
      process.stdout.write(`${file}: OK\n`);
    }
    for (const i of lines) {
      process.stdout.write(`${file}: ${formatIssue(i)}\n`);
    }
  }
  const notes = uncheckedNotes(outcomes);
  process.stdout.write(`not checked by this validator (${notes.length ? 'in the profiles these files claim' : 'nothing specific to these files'}; --verbose shows where):\n`);
  for (const n of notes) {
    process.stdout.write(`  - ${n}\n`);
  }
  for (const l of GENERAL_LIMITS) {
    process.stdout.write(`  - ${l}\n`);
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const text = err instanceof OperationOutcomeError ? describeOutcome(err.outcome) : String(err);
    process.stderr.write(`validate: ${text}\n`);
    process.exitCode = 2;
  },
);
