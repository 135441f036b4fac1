import type { CodeSystem, CodeSystemConcept, ValueSet, ValueSetComposeInclude } from '@medplum/fhirtypes';
import type { TerminologySource } from './core-terminology.ts';

/** `system|code` keys of an expansion. */
export type Expansion = ReadonlySet<string>;

export function codeKey(system: string | undefined, code: string): string {
  return `${system ?? ''}|${code}`;
}

/** Canonical without `|version`: bindings name `…/observation-status|4.0.1`, the definitions plain URLs. */
export function stripVersion(url: string): string {
  const bar = url.indexOf('|');
  return bar < 0 ? url : url.slice(0, bar);
}

function flatten(concepts: readonly CodeSystemConcept[] | undefined, out: CodeSystemConcept[] = []): CodeSystemConcept[] {
  for (const c of concepts ?? []) {
    out.push(c);
    flatten(c.concept, out);
  }
  return out;
}

function findConcept(concepts: readonly CodeSystemConcept[] | undefined, code: string): CodeSystemConcept | undefined {
  for (const c of concepts ?? []) {
    if (c.code === code) {
      return c;
    }
    const inner = findConcept(c.concept, code);
    if (inner) {
      return inner;
    }
  }
  return undefined;
}

/** Codes of a fully enumerated code system; undefined for SNOMED CT, UCUM, BCP-13 and other external ones. */
function systemCodes(cs: CodeSystem | undefined): CodeSystemConcept[] | undefined {
  if (!cs || (cs.content !== 'complete' && cs.content !== undefined) || !cs.concept) {
    return undefined;
  }
  return flatten(cs.concept);
}

/** Hierarchy filters on nested concepts (the only ones R4 core required bindings use); others are not expanded. */
function filterCodes(cs: CodeSystem | undefined, include: ValueSetComposeInclude): CodeSystemConcept[] | undefined {
  if (!cs?.concept) {
    return undefined;
  }
  let result: CodeSystemConcept[] | undefined;
  for (const f of include.filter ?? []) {
    if (f.property !== 'concept') {
      return undefined;
    }
    const root = findConcept(cs.concept, f.value ?? '');
    if (!root) {
      return undefined;
    }
    let matched: CodeSystemConcept[];
    switch (f.op) {
      case 'is-a':
        matched = [root, ...flatten(root.concept)];
        break;
      case 'descendent-of':
        matched = flatten(root.concept);
        break;
      case '=':
        matched = [root];
        break;
      default:
        return undefined;
    }
    result = result ? result.filter((c) => matched.includes(c)) : matched;
  }
  return result;
}

/**
 * The codes of one include or exclude, or undefined when they cannot be enumerated offline
 * (a whole external system such as SNOMED CT or BCP-13 mime types, an unsupported filter).
 */
function expandInclude(include: ValueSetComposeInclude, source: TerminologySource, seen: ReadonlySet<string>): Set<string> | undefined {
  let codes: Set<string> | undefined;
  if (include.system) {
    const system = include.system;
    let concepts: readonly { readonly code?: string }[] | undefined;
    if (include.concept?.length) {
      concepts = include.concept;
    } else if (include.filter?.length) {
      concepts = filterCodes(source.codeSystem(system), include);
    } else {
      concepts = systemCodes(source.codeSystem(system));
    }
    if (!concepts) {
      return undefined;
    }
    codes = new Set(concepts.flatMap((c) => (c.code ? [codeKey(system, c.code)] : [])));
  }
  // Several value sets in one include intersect with each other and with the system part.
  for (const vs of include.valueSet ?? []) {
    const inner = expandUrl(vs, source, seen);
    if (!inner) {
      return undefined;
    }
    codes = codes ? new Set([...codes].filter((k) => inner.has(k))) : new Set(inner);
  }
  return codes;
}

function expandUrl(url: string, source: TerminologySource, seen: ReadonlySet<string>): Expansion | undefined {
  const plain = stripVersion(url);
  if (seen.has(plain)) {
    return undefined;
  }
  const vs = source.valueSet(plain);
  return vs ? expandCompose(vs, source, new Set([...seen, plain])) : undefined;
}

function expandCompose(vs: ValueSet, source: TerminologySource, seen: ReadonlySet<string>): Expansion | undefined {
  if (vs.expansion?.contains?.length && !vs.compose) {
    return new Set(vs.expansion.contains.flatMap((c) => (c.code ? [codeKey(c.system, c.code)] : [])));
  }
  const codes = new Set<string>();
  for (const include of vs.compose?.include ?? []) {
    const part = expandInclude(include, source, seen);
    if (!part) {
      return undefined;
    }
    part.forEach((k) => codes.add(k));
  }
  for (const exclude of vs.compose?.exclude ?? []) {
    const part = expandInclude(exclude, source, seen);
    if (!part) {
      return undefined;
    }
    part.forEach((k) => codes.delete(k));
  }
  return codes;
}

/** Memoised expansion by value set URL (version ignored); undefined when it cannot be enumerated offline. */
export interface ValueSetExpander {
  expand(url: string): Expansion | undefined;
}

export function createExpander(source: TerminologySource): ValueSetExpander {
  const cache = new Map<string, Expansion | undefined>();
  return {
    expand(url: string): Expansion | undefined {
      const plain = stripVersion(url);
      if (!cache.has(plain)) {
        cache.set(plain, expandUrl(plain, source, new Set()));
      }
      return cache.get(plain);
    },
  };
}
