import type { OperationOutcomeIssue } from 'fhir/r4';
import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';
import { isObject, locate } from './element-walker.ts';

/**
 * Slicings Medplum's validator cannot take: it throws on `profile` (and `type`, `exists`)
 * discriminators, and never matches a value/pattern slice whose discriminator path repeats
 * (`agent` sliced on `role`, which is 0..*), so such a slice always counts 0. Those slicings are cut
 * from the copy of the profile Medplum gets (medplumView) and handled here: value/pattern ones on a
 * repeating path are checked (membership, slice cardinality, the slice's fixed/pattern values and
 * required children); the others are reported as not checked, never passed silently.
 */
export interface DeferredSlicing {
  /** Element id of the sliced element (`Provenance.agent`). */
  readonly id: string;
  readonly path: string;
  readonly discriminators: readonly { readonly type: string; readonly path: string }[];
  readonly rules?: string;
  readonly slices: readonly { readonly name: string; readonly min: number; readonly max: string; readonly elements: readonly ElementDefinition[] }[];
  readonly checkable: boolean;
  readonly reason: string;
}

export interface SlicingView {
  /** The profile without the deferred slicings, for Medplum. */
  readonly medplum: StructureDefinition;
  readonly deferred: readonly DeferredSlicing[];
}

const MEDPLUM_DISCRIMINATORS = new Set(['value', 'pattern']);

/** Whether any step of `path` below element `id` may repeat (max other than 0/1). */
function pathRepeats(byId: ReadonlyMap<string, ElementDefinition>, id: string, path: string): boolean {
  if (path === '$this') {
    return false;
  }
  let at = id;
  for (const seg of path.split('.')) {
    at = `${at}.${seg}`;
    const el = byId.get(at);
    if (!el) {
      return false; // not in the snapshot: Medplum resolves it as a single element
    }
    if (el.max !== '0' && el.max !== '1') {
      return true;
    }
  }
  return false;
}

function deferReason(byId: ReadonlyMap<string, ElementDefinition>, el: ElementDefinition): { defer: boolean; checkable: boolean; reason: string } {
  const ds = el.slicing?.discriminator ?? [];
  const odd = ds.find((d) => !MEDPLUM_DISCRIMINATORS.has(d.type ?? ''));
  if (odd) {
    return { defer: true, checkable: false, reason: `discriminator ${odd.type ?? '?'} on ${odd.path ?? '?'}: slice membership depends on ${odd.type === 'profile' ? 'the profile the referenced resource conforms to' : 'the element type'}, which this validator does not resolve` };
  }
  const repeating = ds.find((d) => pathRepeats(byId, el.id ?? '', d.path ?? ''));
  if (repeating) {
    return { defer: true, checkable: true, reason: `discriminator ${repeating.type ?? '?'} on the repeating path ${repeating.path ?? '?'}: Medplum never matches it; checked here (an item is in the slice when any value at the path matches)` };
  }
  return { defer: false, checkable: true, reason: '' };
}

const cache = new WeakMap<StructureDefinition, SlicingView>();

/** The profile as Medplum can take it, and the slicings handled here instead. */
export function slicingView(sd: StructureDefinition): SlicingView {
  const hit = cache.get(sd);
  if (hit) {
    return hit;
  }
  const elements = sd.snapshot?.element ?? [];
  const byId = new Map(elements.map((e) => [e.id ?? '', e]));
  const deferred: DeferredSlicing[] = [];
  for (const el of elements) {
    if (!el.slicing || !el.id) {
      continue;
    }
    const d = deferReason(byId, el);
    if (!d.defer) {
      continue;
    }
    const id = el.id;
    const sliceRoots = elements.filter((e) => e.sliceName && e.id === `${id}:${e.sliceName}`);
    deferred.push({
      id,
      path: el.path ?? id,
      discriminators: (el.slicing.discriminator ?? []).map((x) => ({ type: x.type ?? '', path: x.path ?? '' })),
      ...(el.slicing.rules ? { rules: el.slicing.rules } : {}),
      slices: sliceRoots.map((s) => ({
        name: s.sliceName ?? '',
        min: s.min ?? 0,
        max: s.max ?? '*',
        elements: elements.filter((e) => e.id?.startsWith(`${id}:${s.sliceName ?? ''}.`) ?? false),
      })),
      checkable: d.checkable,
      reason: d.reason,
    });
  }
  if (!deferred.length) {
    const view = { medplum: sd, deferred };
    cache.set(sd, view);
    return view;
  }
  const cut = deferred.map((d) => d.id);
  const kept = elements
    .filter((e) => !cut.some((id) => e.id?.startsWith(`${id}:`)))
    .map((e) => (cut.includes(e.id ?? '') ? { ...e, slicing: undefined } : e));
  const view = { medplum: { ...sd, snapshot: { ...sd.snapshot, element: kept } }, deferred };
  cache.set(sd, view);
  return view;
}

function fixedOrPattern(el: ElementDefinition): { kind: 'fixed' | 'pattern'; value: unknown } | undefined {
  for (const [k, v] of Object.entries(el)) {
    if (k.startsWith('fixed')) {
      return { kind: 'fixed', value: v };
    }
    if (k.startsWith('pattern')) {
      return { kind: 'pattern', value: v };
    }
  }
  return undefined;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return a === b;
}

/** FHIR pattern semantics: every property of the pattern is in the value; arrays: each pattern item matches some value item. */
function matchesPattern(value: unknown, pattern: unknown): boolean {
  if (Array.isArray(pattern)) {
    return Array.isArray(value) && pattern.every((p) => value.some((v) => matchesPattern(v, p)));
  }
  if (isObject(pattern)) {
    return isObject(value) && Object.entries(pattern).every(([k, p]) => matchesPattern(value[k], p));
  }
  return value === pattern;
}

function meets(value: unknown, rule: { kind: 'fixed' | 'pattern'; value: unknown }): boolean {
  return rule.kind === 'fixed' ? deepEqual(value, rule.value) : matchesPattern(value, rule.value);
}

function relativeSegments(sliceId: string, el: ElementDefinition): string[] {
  return (el.id ?? '').slice(sliceId.length + 1).split('.');
}

function err(expression: string, text: string): OperationOutcomeIssue {
  return { severity: 'error', code: 'structure', details: { text }, expression: [expression] };
}

function maxOf(max: string): number {
  return max === '*' ? Number.POSITIVE_INFINITY : Number(max);
}

/** Checks one value/pattern slicing on a repeating path against `resource`. */
function checkSlicing(resource: unknown, root: string, d: DeferredSlicing, profileUrl: string): OperationOutcomeIssue[] {
  const items = locate(resource, root, d.path.split('.').slice(1));
  const issues: OperationOutcomeIssue[] = [];
  for (const slice of d.slices) {
    const sliceId = `${d.id}:${slice.name}`;
    // What makes an item a member: the slice's fixed/pattern value at each discriminator path.
    const rules = d.discriminators.map((x) => {
      const el = x.path === '$this' ? undefined : slice.elements.find((e) => e.id === `${sliceId}.${x.path}`);
      return { path: x.path, rule: el ? fixedOrPattern(el) : undefined };
    });
    if (rules.some((r) => !r.rule)) {
      issues.push({ severity: 'information', code: 'not-supported', details: { text: `not checked: slice ${slice.name} of ${d.id} (${profileUrl}) has no fixed or pattern value at its discriminator path` }, expression: [root] });
      continue;
    }
    const members = items.filter((item) => rules.every((r) => locate(item.value, item.path, r.path.split('.')).some((v) => meets(v.value, r.rule!))));
    if (members.length < slice.min || members.length > maxOf(slice.max)) {
      issues.push(err(d.path, `Incorrect number of values provided for slice '${slice.name}': expected ${slice.min}..${slice.max}, but found ${members.length} (${profileUrl})`));
    }
    for (const el of slice.elements) {
      const targets = el.type?.find((t) => t.code === 'Reference')?.targetProfile?.filter((tp) => !tp.startsWith('http://hl7.org/fhir/StructureDefinition/'));
      if (targets?.length) {
        issues.push({ severity: 'information', code: 'not-supported', details: { text: `not checked: ${el.id ?? '?'} only Reference(${targets.join(' | ')}): the target's profile inside a slice the validator matches itself (${profileUrl})` }, expression: [d.path] });
      }
    }
    for (const m of members) {
      for (const el of slice.elements) {
        const segs = relativeSegments(sliceId, el);
        if (segs.some((s) => s.includes(':') || s.includes('[x]'))) {
          continue;
        }
        const found = locate(m.value, m.path, segs);
        if (segs.length === 1 && (el.min ?? 0) > found.length) {
          issues.push(err(`${m.path}.${segs[0] ?? ''}`, `Missing required property (slice '${slice.name}' of ${profileUrl})`));
        }
        const rule = fixedOrPattern(el);
        for (const f of rule ? found : []) {
          if (!meets(f.value, rule!)) {
            issues.push(err(f.path, `Value did not match expected ${rule!.kind}: expected ${JSON.stringify(rule!.value)} (slice '${slice.name}' of ${profileUrl})`));
          }
        }
      }
    }
  }
  return issues;
}

/** Issues for the deferred slicings of one profile: checked ones, and a note for each that is not. */
export function checkDeferredSlicing(resource: unknown, sd: StructureDefinition): OperationOutcomeIssue[] {
  const root = sd.type ?? '';
  return slicingView(sd).deferred.flatMap((d) =>
    d.checkable
      ? checkSlicing(resource, root, d, sd.url ?? '')
      : [
          {
            severity: 'information' as const,
            code: 'not-supported' as const,
            details: { text: `not checked: ${describeDeferred(d)} (${sd.url ?? '?'})` },
            expression: [d.path],
          },
        ],
  );
}

export function describeDeferred(d: DeferredSlicing): string {
  const slices = d.slices.map((s) => `${s.name} ${s.min}..${s.max}`).join(', ');
  return `${d.id} sliced by ${d.reason} (slices ${slices})`;
}
