import type { OperationOutcomeIssue } from 'fhir/r4';
import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';
import type { BoundValue } from './binding-check.ts';
import { typeSuffix } from './choice-types.ts';
import { elementSegments, isObject, locate } from './element-walker.ts';

/** One extension slice of a profile, with what its value must be. */
interface ExtensionSlice {
  readonly element: ElementDefinition;
  readonly url: string;
  /** Allowed value types (`Reference`, `Coding`); empty when the profile does not restrict them. */
  readonly valueTypes: readonly string[];
  readonly requiredValueSet?: string;
}

function extensionSlices(sd: StructureDefinition): ExtensionSlice[] {
  const elements = sd.snapshot?.element ?? [];
  const byId = new Map(elements.map((e) => [e.id ?? '', e]));
  return elements.flatMap((el): ExtensionSlice[] => {
    if (!el.sliceName || !/\.(modifierE|e)xtension$/.test(el.path ?? '')) {
      return [];
    }
    const url = byId.get(`${String(el.id)}.url`)?.fixedUri ?? el.type?.[0]?.profile?.[0];
    if (!url) {
      return [];
    }
    const value = byId.get(`${String(el.id)}.value[x]`);
    const binding = value?.binding?.strength === 'required' ? value.binding.valueSet : undefined;
    return [{ element: el, url, valueTypes: (value?.type ?? []).map((t) => t.code ?? ''), ...(binding ? { requiredValueSet: binding } : {}) }];
  });
}

export interface ExtensionSliceResult {
  readonly issues: OperationOutcomeIssue[];
  /** Slice values under a required binding, for checkRequiredBindings. */
  readonly boundValues: BoundValue[];
}

/**
 * The value of each extension a profile slices in: its type, and its required binding. Medplum's
 * validator counts the slices but does not look inside them.
 */
export function checkExtensionSlices(resource: unknown, sd: StructureDefinition): ExtensionSliceResult {
  const root = sd.type ?? '';
  const issues: OperationOutcomeIssue[] = [];
  const boundValues: BoundValue[] = [];
  for (const slice of extensionSlices(sd)) {
    const segments = elementSegments(slice.element);
    for (const ext of locate(resource, root, segments)) {
      if (!isObject(ext.value) || ext.value.url !== slice.url) {
        continue;
      }
      const valueKey = Object.keys(ext.value).find((k) => /^value[A-Z]/.test(k));
      if (!valueKey) {
        continue; // a missing value is reported by the cardinality check
      }
      const type = valueKey.slice('value'.length);
      const path = `${ext.path}.${valueKey}`;
      const allowed = slice.valueTypes.map(typeSuffix);
      if (allowed.length && !allowed.includes(type)) {
        issues.push({
          severity: 'error',
          code: 'structure',
          details: { text: `extension ${slice.url} (slice ${String(slice.element.sliceName)}) takes ${allowed.map((s) => `value${s}`).join(' or ')}` },
          expression: [path],
        });
        continue;
      }
      if (slice.requiredValueSet) {
        const fhirType = slice.valueTypes.find((t) => typeSuffix(t) === type) ?? type;
        boundValues.push({ valueSet: slice.requiredValueSet, type: fhirType, value: ext.value[valueKey], path });
      }
    }
  }
  return { issues, boundValues };
}
