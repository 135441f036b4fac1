import { readFile } from 'node:fs/promises';
import { OperationOutcomeError, badRequest } from './outcomes.ts';

/**
 * A data file's JSON (manifest, rules, gate, terminology, value set), before its own schema checks
 * it. `what` names the file in errors ("model manifest"): a startup error says which file and why.
 */
export async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new OperationOutcomeError(badRequest(`cannot read ${what} ${path}`), err);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new OperationOutcomeError(badRequest(`${what} ${path} is not JSON: ${err instanceof Error ? err.message : String(err)}`), err);
  }
}
