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
  readonly slices: readonly { readonly name: string; readonly min: number; readonly max: string; readonly root: ElementDefinition; readonly elements: readonly ElementDefinition[] }[];
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
  // Medplum matches a slice by a complex fixed value (fixedCoding on $this: AI-InputPrompt
  // type.coding) never, only by a pattern; primitives (fixedUri on identifier.system) it matches.
  const fixedComplex = ds.find((d) =>
    [...byId.values()].some((e) => {
      if (!e.sliceName || e.id !== `${el.id ?? ''}:${e.sliceName}`) {
        return false;
      }
      const at = d.path === '$this' ? e : byId.get(`${e.id}.${d.path ?? ''}`);
      const rule = at ? fixedOrPattern(at) : undefined;
      return rule?.kind === 'fixed' && isObject(rule.value);
    }),
  );
  if (fixedComplex) {
    return { defer: true, checkable: true, reason: `discriminator ${fixedComplex.type ?? '?'} on ${fixedComplex.path ?? '?'} matched by a fixed complex value: Medplum never matches it; checked here` };
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
        root: s,
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

/** Finds the resource a reference names, when it can be seen (an entry of the Bundle under check). */
export type ResolveReference = (reference: string) => Readonly<Record<string, unknown>> | undefined;

const CORE_SD = 'http://hl7.org/fhir/StructureDefinition/';

function note(expression: string, text: string): OperationOutcomeIssue {
  return { severity: 'information', code: 'not-supported', details: { text: `not checked: ${text}` }, expression: [expression] };
}

function claimsAny(target: Readonly<Record<string, unknown>>, profiles: readonly string[]): boolean {
  const meta = target.meta;
  const claimed = isObject(meta) && Array.isArray(meta.profile) ? meta.profile : [];
  return profiles.some((p) => claimed.includes(p));
}

function referenceAt(item: { value: unknown; path: string }, refPath: string): string | undefined {
  const ref = locate(item.value, item.path, refPath.split('.'))[0]?.value;
  return isObject(ref) && typeof ref.reference === 'string' ? ref.reference : undefined;
}

function targetProfilesOf(el: ElementDefinition | undefined): string[] {
  return (el?.type ?? []).flatMap((t) => (t.code === 'Reference' ? (t.targetProfile ?? []) : [])).filter((tp) => !tp.startsWith(CORE_SD));
}

/** `true`/`false`: the item is / is not in the slice; `undefined`: it cannot be told here. */
type Membership = (item: { value: unknown; path: string }) => boolean | undefined;

/**
 * How an item is matched to a slice: by its fixed/pattern values at value discriminator paths,
 * or, with a resolver, by the profiles the resolved target of a `<ref>.resolve()` profile
 * discriminator claims. Undefined when the slice gives nothing to match on.
 */
function membershipOf(d: DeferredSlicing, slice: DeferredSlicing['slices'][number], resolve: ResolveReference | undefined): Membership | undefined {
  const sliceId = `${d.id}:${slice.name}`;
  const tests: Membership[] = [];
  for (const x of d.discriminators) {
    if (x.type === 'value' || x.type === 'pattern') {
      const el = x.path === '$this' ? slice.root : slice.elements.find((e) => e.id === `${sliceId}.${x.path}`);
      const rule = el ? fixedOrPattern(el) : undefined;
      if (!rule) {
        return undefined;
      }
      tests.push((item) => (x.path === '$this' ? meets(item.value, rule) : locate(item.value, item.path, x.path.split('.')).some((v) => meets(v.value, rule))));
      continue;
    }
    const refPath = x.type === 'profile' ? /^(.+)\.resolve\(\)$/.exec(x.path)?.[1] : undefined;
    const targets = refPath ? targetProfilesOf(slice.elements.find((e) => e.id === `${sliceId}.${refPath}`)) : [];
    if (!resolve || !refPath || !targets.length) {
      return undefined;
    }
    tests.push((item) => {
      const ref = referenceAt(item, refPath);
      const target = ref ? resolve(ref) : undefined;
      return target ? claimsAny(target, targets) : undefined;
    });
  }
  return (item) => {
    const results = tests.map((t) => t(item));
    return results.includes(false) ? false : results.includes(undefined) ? undefined : true;
  };
}

/** The slice's own rules on one member: required children, fixed/pattern values, reference targets. */
function checkMember(m: { value: unknown; path: string }, sliceId: string, slice: DeferredSlicing['slices'][number], profileUrl: string, resolve: ResolveReference | undefined): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
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
    const targets = targetProfilesOf(el);
    for (const f of targets.length ? found : []) {
      const ref = isObject(f.value) && typeof f.value.reference === 'string' ? f.value.reference : undefined;
      const target = ref && resolve ? resolve(ref) : undefined;
      if (!target) {
        issues.push(note(f.path, `${el.id ?? '?'} only Reference(${targets.join(' | ')}): its target cannot be resolved here: checked only when it is an entry of the Bundle under check (${profileUrl})`));
      } else if (!claimsAny(target, targets)) {
        issues.push(err(f.path, `${ref ?? '?'} does not claim ${targets.join(' or ')} (slice '${slice.name}' of ${profileUrl})`));
      }
    }
  }
  return issues;
}

/** Checks one deferred slicing against `resource`: membership, slice cardinality, each member's rules. */
function checkSlicing(resource: unknown, root: string, d: DeferredSlicing, profileUrl: string, resolve: ResolveReference | undefined): OperationOutcomeIssue[] {
  const items = locate(resource, root, d.path.split('.').slice(1));
  const issues: OperationOutcomeIssue[] = [];
  for (const slice of d.slices) {
    const member = membershipOf(d, slice, resolve);
    if (!member) {
      issues.push(note(d.path, `${describeDeferred(d)}: slice ${slice.name} (${profileUrl})`));
      continue;
    }
    const results = items.map((item) => ({ item, in: member(item) }));
    const members = results.filter((r) => r.in === true).map((r) => r.item);
    const unknown = results.filter((r) => r.in === undefined);
    for (const u of unknown) {
      issues.push(note(u.item.path, `whether it is in slice ${slice.name} of ${d.id}: its reference cannot be resolved here: told only when the target is an entry of the Bundle under check (${profileUrl})`));
    }
    const tooFew = members.length < slice.min && !unknown.length;
    if (tooFew || members.length > maxOf(slice.max)) {
      issues.push(err(d.path, `Incorrect number of values provided for slice '${slice.name}': expected ${slice.min}..${slice.max}, but found ${members.length} (${profileUrl})`));
    }
    for (const m of members) {
      issues.push(...checkMember(m, `${d.id}:${slice.name}`, slice, profileUrl, resolve));
    }
  }
  if (d.rules === 'closed') {
    const memberships = d.slices.map((slice) => membershipOf(d, slice, resolve));
    for (const item of items) {
      if (memberships.every((m) => m?.(item) === false)) {
        issues.push(err(item.path, `not in any slice of ${d.id}, whose slicing is closed (${profileUrl})`));
      }
    }
  }
  return issues;
}

/**
 * Issues for the deferred slicings of one profile. Value slices on a repeating path are checked;
 * profile-discriminated ones too when `resolve` can find the references' targets (inside a Bundle);
 * whatever cannot be told is a "not checked" note, never a silent pass.
 */
export function checkDeferredSlicing(resource: unknown, sd: StructureDefinition, resolve?: ResolveReference): OperationOutcomeIssue[] {
  const root = sd.type ?? '';
  return slicingView(sd).deferred.flatMap((d) =>
    d.checkable || resolve ? checkSlicing(resource, root, d, sd.url ?? '', resolve) : [note(d.path, `${describeDeferred(d)} (${sd.url ?? '?'})`)],
  );
}

export function describeDeferred(d: DeferredSlicing): string {
  const slices = d.slices.map((s) => `${s.name} ${s.min}..${s.max}`).join(', ');
  return `${d.id} sliced by ${d.reason} (slices ${slices})`;
}
