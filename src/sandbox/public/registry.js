// @ts-check
/**
 * The model registry as the pages read it (GET /models, GET /models/audit, mounted by the core
 * service in both modes), and the few words both the models page and the viewer say about it:
 * dates, digests, which patterns a version assesses.
 */
import { h } from './dom.js';
import { fetchJson } from './fhir.js';

/**
 * @typedef {{
 *   id: string, display: string, role: string, assessed: boolean, since: string | null, head: 'graph' | 'learned' | null
 * }} RegistryPattern
 * @typedef {{
 *   version: string, registeredAt: string, registeredBy: string, acceptanceSha256: string | null,
 *   networkSha256: string, live: boolean, promotable: boolean, patterns: RegistryPattern[]
 * }} RegistryVersion
 * @typedef {{ live: { version: string, since: string }, installedNetwork: string, versions: RegistryVersion[] }} Registry
 * @typedef {{
 *   id: string, action: 'register' | 'promote' | 'rollback' | 'install', version: string, fromVersion: string | null,
 *   actor: string, at: string, acceptanceSha256: string | null, reason: string | null
 * }} AuditEntry
 */

/** Where the models page lives (a page; `/models` itself is the JSON API). */
export const MODELS_PAGE_PATH = '/models-page';

/** @returns {Promise<Registry>} */
export async function fetchRegistry() {
  const r = /** @type {Partial<Registry> | undefined} */ (await fetchJson('/models', { headers: { accept: 'application/json' } }));
  if (!r?.live || !Array.isArray(r.versions)) {
    throw new Error('GET /models: the answer is not a model registry');
  }
  return /** @type {Registry} */ (r);
}

/** @returns {Promise<AuditEntry[]>} newest first, as the server orders them */
export async function fetchAudit() {
  const r = /** @type {{ entries?: AuditEntry[] } | undefined} */ (await fetchJson('/models/audit', { headers: { accept: 'application/json' } }));
  return Array.isArray(r?.entries) ? r.entries : [];
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * `2 Dec 2026`; a date-only string is read as that calendar day (not midnight UTC moved into the
 * reader's time zone). Anything unreadable is shown as it came.
 * @param {string} iso
 * @returns {string}
 */
export function formatDate(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) {
    return iso;
  }
  return d.toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', ...(DATE_ONLY.test(iso) ? { timeZone: 'UTC' } : {}) });
}

/**
 * `2 Dec 2026, 14:05`; a date-only string as formatDate.
 * @param {string} iso
 * @returns {string}
 */
export function formatDateTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime()) || DATE_ONLY.test(iso)) {
    return formatDate(iso);
  }
  return d.toLocaleString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/**
 * A <time> with the machine-readable value and the words.
 * @param {string} iso
 * @param {{ withTime?: boolean }} [opts]
 * @returns {HTMLElement}
 */
export function timeEl(iso, opts = {}) {
  return h('time', { datetime: iso }, opts.withTime ? formatDateTime(iso) : formatDate(iso));
}

/**
 * A sha256 shortened to its first 12 hex digits; the whole digest in the title (pointer) and,
 * for screen readers, as the text.
 * @param {string} digest
 * @param {string} [what] e.g. "acceptance report digest"
 * @returns {HTMLElement}
 */
export function shortDigest(digest, what = 'sha256') {
  if (digest.length <= 16) {
    return h('code', {}, digest);
  }
  return h(
    'span',
    { class: 'digest', title: `${what}: ${digest}` },
    h('code', { 'aria-hidden': 'true' }, `${digest.slice(0, 12)}…`),
    h('span', { class: 'visually-hidden' }, `${what} ${digest}`),
  );
}

/**
 * @param {RegistryPattern['head']} head
 * @returns {string}
 */
export function headWords(head) {
  return head === 'learned' ? 'learned head' : head === 'graph' ? 'graph head' : 'head not recorded';
}

/**
 * "Pigment network (since 27 Nov 2026), Ulceration (since 2 Dec 2026)": the patterns a version
 * assesses, in the manifest's order; "no pattern" when none.
 * @param {RegistryVersion} v
 * @returns {string}
 */
export function assessedSummary(v) {
  const assessed = v.patterns.filter((p) => p.assessed);
  if (assessed.length === 0) {
    return 'no pattern';
  }
  return assessed.map((p) => `${p.display}${p.since ? ` (since ${formatDate(p.since)})` : ''}`).join(', ');
}
