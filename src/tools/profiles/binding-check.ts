import type { OperationOutcomeIssue } from 'fhir/r4';
import type { Expansion, ValueSetExpander } from './expand-value-set.ts';
import { codeKey, stripVersion } from './expand-value-set.ts';
import { isObject } from './element-walker.ts';

/** A value of an element with a required binding (Medplum's validator collects them as `tokens`). */
export interface BoundValue {
  readonly valueSet: string;
  /** FHIR type of the value: `code`, `Coding`, `CodeableConcept` (others are not checked). */
  readonly type: string;
  readonly value: unknown;
  readonly path: string;
}

function codingKey(c: unknown): string | undefined {
  return isObject(c) && typeof c.code === 'string' ? codeKey(typeof c.system === 'string' ? c.system : undefined, c.code) : undefined;
}

/** What the value carries, for the message: `system|code` keys, or undefined for a type we do not check. */
function carriedCodes(type: string, value: unknown): readonly string[] | undefined {
  switch (type) {
    case 'code':
      return typeof value === 'string' ? [`|${value}`] : [];
    case 'Coding': {
      const k = codingKey(value);
      return k ? [k] : [];
    }
    case 'CodeableConcept': {
      const codings = isObject(value) && Array.isArray(value.coding) ? value.coding : [];
      return codings.flatMap((c: unknown) => {
        const k = codingKey(c);
        return k ? [k] : [];
      });
    }
    default:
      return undefined;
  }
}

/** A bare `code` carries no system: it matches any code of the expansion with that code. */
function inExpansion(key: string, expansion: Expansion): boolean {
  if (!key.startsWith('|')) {
    return expansion.has(key);
  }
  for (const k of expansion) {
    if (k.endsWith(key)) {
      return true;
    }
  }
  return false;
}

/**
 * Required bindings, which Medplum's validator does not enforce. A CodeableConcept passes when one
 * of its codings is in the value set (R4: further codings are translations). Value sets that cannot
 * be enumerated offline (BCP-13 mime types, all of SNOMED CT, THO value sets not in R4) are not
 * checked and say so (information, not-supported): the profiles fix those elements by pattern where
 * it matters (heatmap Media contentType).
 */
export function checkRequiredBindings(values: readonly BoundValue[], expander: ValueSetExpander): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  for (const v of values) {
    const carried = carriedCodes(v.type, v.value);
    const expansion = carried ? expander.expand(v.valueSet) : undefined;
    if (!carried) {
      continue;
    }
    if (!expansion) {
      // Said, not passed silently: the value may or may not be in the value set.
      issues.push({
        severity: 'information',
        code: 'not-supported',
        details: { text: `not checked: required binding to ${stripVersion(v.valueSet)} (the value set cannot be expanded offline)` },
        expression: [v.path],
      });
      continue;
    }
    if (!carried.some((k) => inExpansion(k, expansion))) {
      const got = carried.length ? carried.map((k) => (k.startsWith('|') ? k.slice(1) : k)).join(', ') : 'no code';
      issues.push({
        severity: 'error',
        code: 'code-invalid',
        details: { text: `${got} is not in the required value set ${stripVersion(v.valueSet)}` },
        expression: [v.path],
      });
    }
  }
  return issues;
}
