import type { ElementDefinition } from '@medplum/fhirtypes';

/** A value found in a resource, with its FHIRPath-style location (`Observation.component[0].valueQuantity`). */
export interface Located {
  readonly value: unknown;
  readonly path: string;
}

export function isObject(v: unknown): v is Readonly<Record<string, unknown>> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `Observation.component.value[x]` -> `['component', 'value[x]']` (the root type dropped). */
export function elementSegments(element: Pick<ElementDefinition, 'path'>): readonly string[] {
  return (element.path ?? '').split('.').slice(1);
}

/**
 * Every value at `segments` below `root` (named `rootPath`), arrays expanded with their index as
 * Medplum's validator writes it (`interpretation[0]`). Choice elements (`value[x]`) are not resolved.
 */
export function locate(root: unknown, rootPath: string, segments: readonly string[]): Located[] {
  let current: Located[] = [{ value: root, path: rootPath }];
  for (const seg of segments) {
    const next: Located[] = [];
    for (const at of current) {
      if (!isObject(at.value)) {
        continue;
      }
      const child = at.value[seg];
      if (Array.isArray(child)) {
        child.forEach((value: unknown, i) => next.push({ value, path: `${at.path}.${seg}[${i}]` }));
      } else if (child !== undefined) {
        next.push({ value: child, path: `${at.path}.${seg}` });
      }
    }
    current = next;
  }
  return current;
}
