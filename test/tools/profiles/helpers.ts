import assert from 'node:assert/strict';
import type { OperationOutcome } from 'fhir/r4';
import { loadDefaultValidator } from '../../../src/tools/profiles/validate-resource.ts';
import { errorIssues, formatIssue } from '../../../src/tools/profiles/validation-issues.ts';

/** One validator per test file (indexing R4 takes a second or two). */
export const validator = await loadDefaultValidator();

/** Asserts no error, printing every issue when there is one: a failing test names the element. */
export function assertValid(outcome: OperationOutcome, what: string): void {
  assert.deepEqual(errorIssues(outcome).map(formatIssue), [], `${what} should validate`);
}

/** The formatted error lines (`error <expression>: <text>`), for assertions on what was named. */
export function errorLines(outcome: OperationOutcome): string[] {
  return errorIssues(outcome).map(formatIssue);
}

/** A deep copy that does not keep shared sub-objects shared (structuredClone would). */
export function copy<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}
