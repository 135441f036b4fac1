import type { OperationOutcomeIssue } from 'fhir/r4';
import type { StructureDefinition } from '@medplum/fhirtypes';
import { elementSegments, isObject, locate } from './element-walker.ts';

export function typeSuffix(code: string): string {
  return code.charAt(0).toUpperCase() + code.slice(1);
}

/**
 * Choice elements restricted by the profile (`value[x] only boolean`). Medplum's validator reads any
 * `value*` property as the choice and does not check its type against the profile, so an Observation
 * with valueString passes a boolean-only profile there. `typeOf` maps a property suffix to its FHIR
 * type (`String` -> `string`), or undefined for a property that merely shares the prefix.
 */
export function checkChoiceTypes(resource: unknown, sd: StructureDefinition, typeOf: (suffix: string) => string | undefined): OperationOutcomeIssue[] {
  const root = sd.type ?? '';
  const issues: OperationOutcomeIssue[] = [];
  for (const el of sd.snapshot?.element ?? []) {
    if (!el.path?.endsWith('[x]') || el.id?.includes(':') || !el.type?.length) {
      continue;
    }
    const segments = elementSegments(el);
    const base = (segments.at(-1) ?? '').slice(0, -3);
    const allowed = el.type.map((t) => typeSuffix(t.code ?? ''));
    for (const parent of locate(resource, root, segments.slice(0, -1))) {
      if (!isObject(parent.value)) {
        continue;
      }
      for (const key of Object.keys(parent.value)) {
        const suffix = key.slice(base.length);
        const type = key.startsWith(base) && /^[A-Z]/.test(suffix) ? typeOf(suffix) : undefined;
        if (!type || allowed.includes(suffix)) {
          continue;
        }
        const where = `${parent.path}.${key}`;
        issues.push({
          severity: 'error',
          code: 'structure',
          details: { text: `type ${type} is not allowed: ${el.path} must be ${allowed.map((s) => base + s).join(' or ')} (${sd.url})` },
          expression: [where],
        });
      }
    }
  }
  return issues;
}
