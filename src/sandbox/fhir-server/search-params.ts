/**
 * MemoryRepository treats a search parameter it does not know as "matches nothing", so a typo such as
 * `Media?basedon=...` silently returns an empty Bundle. Real servers (HAPI by default) answer 400;
 * so does this one, so integration tests fail loudly instead of passing on an empty result.
 */
import { getSearchParameters } from '@medplum/core';

/** Names of `params` that are neither result controls (`_count`, `_sort`, `_include`, ...) nor search parameters of the type. */
export function unknownSearchParams(resourceType: string, params: Readonly<Record<string, unknown>>): string[] {
  const known = getSearchParameters(resourceType) ?? {};
  return Object.keys(params).filter((key) => {
    // `subject:Patient.name=x`, `name:contains=x`: the parameter is the part before any modifier or chain.
    const name = key.split(/[:.]/, 1)[0] ?? key;
    return !name.startsWith('_') && !(name in known);
  });
}
