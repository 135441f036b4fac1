// @ts-check
/** The dermatologist's queue: the latest triage of each referral, most urgent first (server order). */
import { h } from './dom.js';
import { fetchJson, fhir } from './fhir.js';

/**
 * @typedef {{
 *   reportId: string, referral: string, patient: string, category: string, categoryDisplay: string,
 *   bccProbability: number, issued: string, imageCount: number, modelVersion: string, viewerPath: string
 * }} QueueEntry
 */

const INDICATOR_BY_CATEGORY = /** @type {Readonly<Record<string, string>>} */ ({ high: 'critical', moderate: 'warning', indeterminate: 'warning', low: 'info' });

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
 * Fills the queue table's body.
 * @param {HTMLTableSectionElement} body
 * @returns {Promise<number>} the number of referrals in the queue
 */
export async function refreshQueue(body) {
  const result = /** @type {{ entries?: QueueEntry[] }} */ (await fetchJson('/sandbox/api/queue'));
  const entries = result.entries ?? [];
  const names = await Promise.all(entries.map((e) => patientName(e.patient)));
  const rows = entries.map((e, i) =>
    h(
      'tr',
      { 'data-referral': e.referral },
      h('td', {}, String(i + 1)),
      h('td', {}, h('span', { class: `indicator indicator--${INDICATOR_BY_CATEGORY[e.category] ?? 'info'}` }, e.categoryDisplay)),
      h('td', { class: 'num' }, e.bccProbability.toFixed(2)),
      h('td', {}, names[i] ?? e.patient),
      h('td', {}, shortReference(e.referral)),
      h('td', { class: 'num' }, String(e.imageCount)),
      h('td', {}, h('time', { datetime: e.issued }, new Date(e.issued).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' }))),
      h('td', {}, e.viewerPath.startsWith('/viewer/') ? h('a', { href: e.viewerPath }, 'Open result', h('span', { class: 'visually-hidden' }, ` for ${names[i] ?? e.patient}, ${e.categoryDisplay}`)) : ''),
    ),
  );
  body.replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: 8, class: 'empty' }, 'No triaged referrals yet: sign one above.'))]));
  return entries.length;
}
