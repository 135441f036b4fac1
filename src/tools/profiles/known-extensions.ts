import type { OperationOutcomeIssue } from 'fhir/r4';
import type { BoundValue } from './binding-check.ts';
import { typeSuffix } from './choice-types.ts';
import { isObject } from './element-walker.ts';
import type { ProfileSet } from './profile-set.ts';

/**
 * Every extension in a resource whose definition we hold (ours, the AI Transparency IG's), wherever
 * it sits and whether or not a profile slices it in (AIconfidence on an Observation is in no
 * profile): its value is present when the definition requires one, of an allowed type, and in the
 * value set of a required binding. Medplum checks an extension only where a profile slices it in,
 * and then not its value.
 */
export function checkKnownExtensions(resource: unknown, rootPath: string, profiles: ProfileSet): { issues: OperationOutcomeIssue[]; boundValues: BoundValue[] } {
  const issues: OperationOutcomeIssue[] = [];
  const boundValues: BoundValue[] = [];
  const visit = (value: unknown, path: string): void => {
    if (Array.isArray(value)) {
      value.forEach((v: unknown, i) => {
        visit(v, `${path}[${i}]`);
      });
      return;
    }
    if (!isObject(value)) {
      return;
    }
    for (const [k, v] of Object.entries(value)) {
      if (typeof v === 'object') {
        visit(v, `${path}.${k}`);
      }
    }
    const url = typeof value.url === 'string' ? value.url : '';
    const sd = url && /\.(modifierE|e)xtension\[\d+\]$/.test(path) ? profiles.structureDefinitions.get(url) : undefined;
    if (sd?.type !== 'Extension') {
      return;
    }
    const el = sd.snapshot?.element?.find((e) => e.id === 'Extension.value[x]');
    if (!el) {
      return;
    }
    const valueKey = Object.keys(value).find((k) => /^value[A-Z]/.test(k));
    if (!valueKey) {
      if ((el.min ?? 0) > 0) {
        issues.push({ severity: 'error', code: 'required', details: { text: `extension ${url} needs a value (${sd.url ?? ''})` }, expression: [path] });
      }
      return;
    }
    const allowed = (el.type ?? []).map((t) => typeSuffix(t.code ?? ''));
    const type = valueKey.slice('value'.length);
    if (el.max === '0' || (allowed.length && !allowed.includes(type))) {
      issues.push({
        severity: 'error',
        code: 'structure',
        details: { text: `extension ${url} takes ${el.max === '0' ? 'no value' : allowed.map((s) => `value${s}`).join(' or ')}` },
        expression: [`${path}.${valueKey}`],
      });
      return;
    }
    if (el.binding?.strength === 'required' && el.binding.valueSet) {
      const fhirType = (el.type ?? []).find((t) => typeSuffix(t.code ?? '') === type)?.code ?? type;
      boundValues.push({ valueSet: el.binding.valueSet, type: fhirType, value: value[valueKey], path: `${path}.${valueKey}` });
    }
  };
  visit(resource, rootPath);
  return { issues, boundValues };
}
