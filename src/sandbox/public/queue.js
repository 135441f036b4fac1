// @ts-check
/**
 * The dermatologist's queue: the latest triage of each referral. Filtered by priority and by what
 * was decided on its card, sorted and paged by the server (GET /sandbox/api/queue?priority=&state=
 * &sort=&page=&pageSize=); each row says how long ago it was triaged (the exact time beside it for
 * screen readers and in the title) and what was decided (accepted, overridden, pending).
 */
import { h } from './dom.js';
import { fetchJson, fhir } from './fhir.js';

/**
 * @typedef {{
 *   reportId: string, referral: string, patient: string, category: string, categoryDisplay: string,
 *   bccProbability: number, issued: string, imageCount: number, modelVersion: string, viewerPath: string,
 *   decision: 'pending' | 'accepted' | 'overridden', decidedAt?: string, overrideComment?: string
 * }} QueueEntry
 * @typedef {{ entries: QueueEntry[], total: number, page: number, pageSize: number, pages: number }} QueuePage
 * @typedef {{ priority: string[], state: string[], sort: string, page: number, pageSize: number }} QueueQuery
 */

const INDICATOR_BY_CATEGORY = /** @type {Readonly<Record<string, string>>} */ ({ high: 'critical', moderate: 'warning', indeterminate: 'warning', low: 'info' });
const DECISION_WORDS = /** @type {Readonly<Record<string, string>>} */ ({ accepted: 'Accepted', overridden: 'Overridden', pending: 'Pending' });
const SORT_WORDS = /** @type {Readonly<Record<string, string>>} */ ({ priority: 'most urgent first', newest: 'newest first', oldest: 'oldest first', probability: 'highest BCC probability first' });

/** @type {Map<string, Promise<string>>} */
const patientNames = new Map();

/**
 * @param {string} reference
 * @returns {Promise<string>}
 */
function patientName(reference) {
  let name = patientNames.get(reference);
  if (!name) {
    name = fhir('GET', reference).then(
      (p) => {
        const n = Array.isArray(p.name) ? /** @type {{ given?: string[], family?: string }[]} */ (p.name)[0] : undefined;
        return [n?.given?.join(' '), n?.family].filter(Boolean).join(' ') || reference;
      },
      () => reference,
    );
    patientNames.set(reference, name);
  }
  return name;
}

/**
 * `47026900…`: enough to tell referrals apart in the column; the full reference is in the title
 * and, for screen readers, in the text.
 * @param {string} reference
 * @returns {HTMLElement}
 */
function shortReference(reference) {
  const id = reference.split('/')[1] ?? reference;
  if (id.length <= 12) {
    return h('span', {}, reference);
  }
  return h('span', { title: reference }, h('span', { 'aria-hidden': 'true' }, `${id.slice(0, 8)}…`), h('span', { class: 'visually-hidden' }, reference));
}

/**
 * "just now", "5 min ago", "3 h ago", "2 days ago".
 * @param {string} iso
 * @param {number} now
 * @returns {string}
 */
export function ageOf(iso, now) {
  const minutes = Math.floor((now - Date.parse(iso)) / 60_000);
  if (!(minutes >= 1)) {
    return 'just now';
  }
  if (minutes < 60) {
    return `${minutes} min ago`;
  }
  const hours = Math.floor(minutes / 60);
  if (hours < 48) {
    return `${hours} h ago`;
  }
  return `${Math.floor(hours / 24)} days ago`;
}

/**
 * @param {string} iso
 * @returns {string}
 */
const exactTime = (iso) => new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/**
 * A time as its age, the exact time in `datetime`, the title and (for screen readers) the text.
 * @param {string} iso
 * @param {number} now
 * @returns {HTMLElement}
 */
function age(iso, now) {
  const exact = exactTime(iso);
  return h('time', { datetime: iso, title: exact }, ageOf(iso, now), h('span', { class: 'visually-hidden' }, ` (${exact})`));
}

/**
 * @param {QueueEntry} e
 * @param {number} now
 * @returns {HTMLElement}
 */
function decision(e, now) {
  const words = DECISION_WORDS[e.decision] ?? e.decision;
  return h(
    'span',
    { class: `decision decision--${e.decision}`, ...(e.overrideComment ? { title: e.overrideComment } : {}) },
    h('span', { class: 'decision__mark', 'aria-hidden': 'true' }, e.decision === 'accepted' ? '✓' : e.decision === 'overridden' ? '✗' : '…'),
    ` ${words}`,
    e.decidedAt ? h('span', { class: 'decision__when' }, ' ', age(e.decidedAt, now)) : null,
  );
}

/**
 * The query the filter form states.
 * @param {HTMLFormElement} form
 * @param {number} page
 * @returns {QueueQuery}
 */
export function queryOf(form, page) {
  const data = new FormData(form);
  const all = (/** @type {string} */ name) => data.getAll(name).filter((v) => typeof v === 'string');
  const one = (/** @type {string} */ name, /** @type {string} */ fallback) => {
    const v = data.get(name);
    return typeof v === 'string' && v ? v : fallback;
  };
  return { priority: /** @type {string[]} */ (all('priority')), state: /** @type {string[]} */ (all('state')), sort: one('sort', 'priority'), page, pageSize: Number(one('pageSize', '20')) };
}

/**
 * @param {QueueQuery} q
 * @returns {string}
 */
function queryString(q) {
  const p = new URLSearchParams();
  if (q.priority.length) {
    p.set('priority', q.priority.join(','));
  }
  if (q.state.length) {
    p.set('state', q.state.join(','));
  }
  p.set('sort', q.sort);
  p.set('page', String(q.page));
  p.set('pageSize', String(q.pageSize));
  return p.toString();
}

/**
 * Fills the queue table's body with one page.
 * @param {HTMLTableSectionElement} body
 * @param {QueueQuery} q
 * @returns {Promise<QueuePage>}
 */
export async function refreshQueue(body, q) {
  const page = /** @type {QueuePage} */ (await fetchJson(`/sandbox/api/queue?${queryString(q)}`));
  const entries = page.entries;
  const names = await Promise.all(entries.map((e) => patientName(e.patient)));
  const now = Date.now();
  const first = (page.page - 1) * page.pageSize;
  const rows = entries.map((e, i) =>
    h(
      'tr',
      { 'data-referral': e.referral, 'data-decision': e.decision },
      h('td', {}, String(first + i + 1)),
      h('td', {}, h('span', { class: `indicator indicator--${INDICATOR_BY_CATEGORY[e.category] ?? 'info'}` }, e.categoryDisplay)),
      h('td', { class: 'num' }, e.bccProbability.toFixed(2)),
      h('td', {}, names[i] ?? e.patient),
      h('td', {}, shortReference(e.referral)),
      h('td', { class: 'num' }, String(e.imageCount)),
      h('td', {}, age(e.issued, now)),
      h('td', {}, decision(e, now)),
      h('td', {}, e.viewerPath.startsWith('/viewer/') ? h('a', { href: e.viewerPath }, 'Open result', h('span', { class: 'visually-hidden' }, ` for ${names[i] ?? e.patient}, ${e.categoryDisplay}`)) : ''),
    ),
  );
  const filtered = q.priority.length > 0 || q.state.length > 0;
  const none = filtered ? 'No referrals match these filters.' : 'No triaged referrals yet: sign one above.';
  body.replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: 9, class: 'empty' }, none))]));
  return page;
}

/**
 * What the status line says after a refresh: how many, which ones, in what order, which page.
 * @param {QueuePage} page
 * @param {QueueQuery} q
 * @returns {string}
 */
export function describePage(page, q) {
  const filters = [q.priority.length ? `priority ${q.priority.join(' or ')}` : '', q.state.length ? `decision ${q.state.join(' or ')}` : ''].filter(Boolean);
  const what = `${page.total} referral${page.total === 1 ? '' : 's'}${filters.length ? ` with ${filters.join(' and ')}` : ' in the queue'}`;
  if (page.total === 0) {
    return `${what}.`;
  }
  const from = (page.page - 1) * page.pageSize + 1;
  const to = from + page.entries.length - 1;
  const shown = page.entries.length ? `showing ${from} to ${to}` : 'none on this page';
  return `${what}, ${SORT_WORDS[q.sort] ?? q.sort}; page ${page.page} of ${page.pages}, ${shown}.`;
}
