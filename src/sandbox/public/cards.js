// @ts-check
/**
 * Renders CDS Hooks 2.0 cards as an EHR does and carries out what the clinician picks: a
 * suggestion's actions applied to the FHIR server, or an override with a reason, both reported to
 * the service's feedback endpoint (https://cds-hooks.hl7.org/2.0/#feedback).
 */
import { h, safeLink, say } from './dom.js';
import { FHIR_BASE, fhir, postJson } from './fhir.js';
import { renderMarkdown } from './markdown.js';

/**
 * @typedef {{ system?: string, code: string, display?: string }} Coding
 * @typedef {{ type: 'create' | 'update' | 'delete', description?: string, resource?: import('./fhir.js').FhirResource, resourceId?: string }} Action
 * @typedef {{ label: string, uuid?: string, isRecommended?: boolean, actions?: Action[] }} Suggestion
 * @typedef {{ label: string, url: string, type: string, appContext?: string }} Link
 * @typedef {{
 *   uuid?: string, summary: string, detail?: string, indicator: string,
 *   source: { label: string, url?: string, icon?: string },
 *   suggestions?: Suggestion[], selectionBehavior?: string, overrideReasons?: Coding[], links?: Link[]
 * }} Card
 * @typedef {{ serviceId: string, patientId?: string, onApplied?: (created: string[]) => void, onDecided?: () => void }} CardContext
 */

/** Words beside the colour: the indicator is never told by colour alone. */
const INDICATOR_WORDS = /** @type {const} */ ({ critical: 'Critical', warning: 'Warning', info: 'Info' });

/**
 * @param {string} indicator
 * @returns {'critical' | 'warning' | 'info'}
 */
function knownIndicator(indicator) {
  return indicator === 'critical' || indicator === 'warning' ? indicator : 'info';
}

let cardCount = 0;

/**
 * @param {Card} card
 * @param {CardContext} ctx
 * @returns {HTMLElement}
 */
export function renderCard(card, ctx) {
  const n = ++cardCount;
  const indicator = knownIndicator(card.indicator);
  const summaryId = `card-${n}-summary`;
  const status = h('p', { class: 'card-status', role: 'status' });
  const detail = h('div', { class: 'card-detail markdown' });
  // renderMarkdown escapes every piece of text before adding its own tags.
  detail.innerHTML = renderMarkdown(card.detail ?? '', { minHeadingLevel: 4 });

  const suggestions = (card.suggestions ?? []).map((s) => suggestionButton(card, s, ctx, status));
  const links = (card.links ?? []).filter((l) => l.type === 'absolute');
  const smartLinks = (card.links ?? []).filter((l) => l.type === 'smart');
  const article = h(
    'article',
    { class: `card card--${indicator}`, 'aria-labelledby': summaryId, 'data-card-uuid': card.uuid },
    h(
      'header',
      { class: 'card-header' },
      h('span', { class: `indicator indicator--${indicator}` }, INDICATOR_WORDS[indicator]),
      h('h3', { id: summaryId, class: 'card-summary' }, card.summary),
    ),
    detail,
    h('p', { class: 'card-source' }, 'Source: ', safeLink(card.source.label, card.source.url, { newTab: true })),
    suggestions.length ? h('div', { class: 'card-suggestions', role: 'group', 'aria-label': 'Suggestions' }, suggestions) : null,
    links.length || smartLinks.length
      ? h(
          'ul',
          { class: 'card-links' },
          smartLinks.map((l) => h('li', {}, smartLaunchButton(l, ctx, status))),
          links.map((l) => h('li', {}, safeLink(l.label, l.url, { newTab: true }))),
        )
      : null,
    card.overrideReasons?.length && card.uuid ? overrideControls(card, n, ctx, status) : null,
    status,
  );
  return article;
}

/**
 * @param {Card} card
 * @param {Suggestion} suggestion
 * @param {CardContext} ctx
 * @param {HTMLElement} status
 * @returns {HTMLButtonElement}
 */
function suggestionButton(card, suggestion, ctx, status) {
  const count = suggestion.actions?.length ?? 0;
  const button = h(
    'button',
    { type: 'button', class: suggestion.isRecommended ? 'button button--primary' : 'button', 'data-suggestion': suggestion.uuid },
    suggestion.label,
    suggestion.isRecommended ? h('span', { class: 'visually-hidden' }, ' (recommended)') : null,
  );
  button.title = (suggestion.actions ?? []).map((a) => a.description ?? a.type).join('\n');
  button.addEventListener('click', async () => {
    button.disabled = true;
    say(status, `Applying "${suggestion.label}" (${count} action${count === 1 ? '' : 's'})…`, 'busy');
    try {
      const written = await applyActions(suggestion.actions ?? []);
      if (card.uuid && suggestion.uuid) {
        await sendFeedback(ctx.serviceId, { card: card.uuid, outcome: 'accepted', acceptedSuggestions: [{ id: suggestion.uuid }], outcomeTimestamp: new Date().toISOString() });
      }
      button.classList.add('button--done');
      button.setAttribute('aria-label', `${suggestion.label}: applied`);
      const report = written.find((w) => w.startsWith('DiagnosticReport/'));
      say(status, `Applied "${suggestion.label}": ${written.length} resource${written.length === 1 ? '' : 's'} written${report ? `, including ${report}` : ''}.`);
      // The pressed button stays disabled (applied once): the keyboard continues from the outcome.
      status.setAttribute('tabindex', '-1');
      status.focus();
      ctx.onApplied?.(written);
    } catch (err) {
      button.disabled = false;
      say(status, `Could not apply "${suggestion.label}": ${err instanceof Error ? err.message : String(err)}`, 'error');
    }
  });
  return button;
}

/**
 * A `smart` link, launched as an EHR launches a SMART app (CDS Hooks 2.0: the client "should ensure
 * the SMART app launch URL is populated with the appropriate SMART launch parameters"): register the
 * launch context (the patient, and the card's appContext) with the sandbox's authorization server,
 * then open `<url>?iss=<this FHIR server>&launch=<id>` in a new tab. The tab is opened on the click
 * itself, before the registration answers, so no popup blocker stops it.
 * @param {Link} link
 * @param {CardContext} ctx
 * @param {HTMLElement} status
 * @returns {HTMLButtonElement}
 */
function smartLaunchButton(link, ctx, status) {
  const button = h('button', { type: 'button', class: 'button', 'data-smart-link': 'true' }, link.label, h('span', { class: 'visually-hidden' }, ' (opens the SMART app in a new tab)'));
  button.addEventListener('click', async () => {
    const tab = window.open('', '_blank');
    say(status, `Launching "${link.label}"…`, 'busy');
    try {
      const body = /** @type {{ launch: string }} */ (await postJson('/sandbox/smart/launch', { ...(ctx.patientId ? { patient: ctx.patientId } : {}), ...(link.appContext !== undefined ? { appContext: link.appContext } : {}) }));
      const url = new URL(link.url);
      url.searchParams.set('iss', FHIR_BASE);
      url.searchParams.set('launch', body.launch);
      if (tab) {
        tab.opener = null;
        tab.location.href = url.href;
      } else {
        location.assign(url.href);
      }
      say(status, `Launched "${link.label}" in a new tab.`);
    } catch (err) {
      tab?.close();
      say(status, `Could not launch "${link.label}": ${err instanceof Error ? err.message : String(err)}`, 'error');
    }
  });
  return button;
}

/**
 * CDS Hooks 2.0: the client applies create actions "as per FHIR's rules for processing
 * transactions with the CDS Client's fhirServer as the base url for the inferred full URL". The
 * resources reference each other as `Type/<id>`, so each create keeps its id: a PUT to Type/<id>
 * (update-as-create) inside one transaction. A resource without an id is a plain POST.
 * Updates are PUTs, deletes DELETEs. Returns the `Type/id` of everything written.
 * @param {readonly Action[]} actions
 * @returns {Promise<string[]>}
 */
export async function applyActions(actions) {
  /** @type {string[]} */
  const written = [];
  const creates = actions.filter((a) => a.type === 'create' && a.resource);
  if (creates.length) {
    const entry = creates.map((a) => {
      const r = /** @type {import('./fhir.js').FhirResource} */ (a.resource);
      return r.id
        ? { fullUrl: `${FHIR_BASE}/${r.resourceType}/${r.id}`, resource: r, request: { method: 'PUT', url: `${r.resourceType}/${r.id}` } }
        : { fullUrl: `urn:uuid:${crypto.randomUUID()}`, resource: r, request: { method: 'POST', url: r.resourceType } };
    });
    const response = await fhir('POST', '', { resourceType: 'Bundle', type: 'transaction', entry });
    const results = Array.isArray(response.entry) ? response.entry : [];
    results.forEach((/** @type {{ response?: { status?: string, outcome?: unknown }, resource?: { resourceType?: string, id?: string } }} */ e, i) => {
      const code = Number((e.response?.status ?? '').split(' ')[0]);
      if (!(code >= 200 && code < 300)) {
        const what = entry[i]?.request.url ?? `entry ${i}`;
        throw new Error(`${what}: HTTP ${e.response?.status ?? '?'} ${JSON.stringify(e.response?.outcome ?? '')}`);
      }
      if (e.resource?.resourceType && e.resource.id) {
        written.push(`${e.resource.resourceType}/${e.resource.id}`);
      }
    });
  }
  for (const a of actions) {
    if (a.type === 'update' && a.resource?.id) {
      const r = await fhir('PUT', `${a.resource.resourceType}/${a.resource.id}`, a.resource);
      written.push(`${r.resourceType}/${r.id ?? ''}`);
    } else if (a.type === 'delete' && a.resourceId) {
      await fhir('DELETE', a.resourceId);
      written.push(a.resourceId);
    }
  }
  return written;
}

/**
 * @param {Card} card
 * @param {number} n
 * @param {CardContext} ctx
 * @param {HTMLElement} status
 * @returns {HTMLElement}
 */
function overrideControls(card, n, ctx, status) {
  const formId = `card-${n}-override`;
  const toggle = h('button', { type: 'button', class: 'button button--quiet', 'aria-expanded': 'false', 'aria-controls': formId }, 'Override…');
  const reasons = card.overrideReasons ?? [];
  const select = h(
    'select',
    { id: `${formId}-reason`, name: 'reason', required: true },
    h('option', { value: '' }, 'Choose a reason'),
    reasons.map((r, i) => h('option', { value: String(i) }, r.display ?? r.code)),
  );
  const comment = h('textarea', { id: `${formId}-comment`, name: 'comment', rows: 2, maxlength: 2000 });
  const submit = h('button', { type: 'submit', class: 'button button--primary' }, 'Send override');
  const cancel = h('button', { type: 'button', class: 'button button--quiet' }, 'Cancel');
  const form = h(
    'form',
    { id: formId, class: 'override-form', hidden: true, 'aria-label': 'Override this card' },
    h('label', { for: select.id }, 'Reason'),
    select,
    h('label', { for: comment.id }, 'Comment (optional)'),
    comment,
    h('div', { class: 'form-actions' }, submit, cancel),
  );
  const show = (/** @type {boolean} */ open) => {
    form.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
    (open ? select : toggle).focus();
  };
  toggle.addEventListener('click', () => { show(form.hidden); });
  cancel.addEventListener('click', () => { show(false); });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const reason = reasons[Number(select.value)];
    if (select.value === '' || !reason || !card.uuid) {
      say(status, 'Choose an override reason first.', 'error');
      select.focus();
      return;
    }
    submit.disabled = true;
    try {
      const text = comment.value.trim();
      await sendFeedback(ctx.serviceId, {
        card: card.uuid,
        outcome: 'overridden',
        overrideReason: { reason, ...(text ? { userComment: text } : {}) },
        outcomeTimestamp: new Date().toISOString(),
      });
      form.hidden = true;
      toggle.disabled = true;
      toggle.setAttribute('aria-expanded', 'false');
      toggle.textContent = 'Overridden';
      say(status, `Override sent: ${reason.display ?? reason.code}.`);
      // Overriding dismisses the card: its suggestions no longer apply.
      const article = toggle.closest('.card');
      article?.classList.add('card--overridden');
      article?.querySelectorAll('.card-suggestions button').forEach((b) => b instanceof HTMLButtonElement && (b.disabled = true));
      // The focused submit button is gone with its form: the keyboard continues from the outcome.
      status.setAttribute('tabindex', '-1');
      status.focus();
      ctx.onDecided?.();
    } catch (err) {
      submit.disabled = false;
      say(status, `Could not send the override: ${err instanceof Error ? err.message : String(err)}`, 'error');
    }
  });
  return h('div', { class: 'card-override' }, toggle, form);
}

/**
 * @param {string} serviceId
 * @param {Record<string, unknown>} item
 * @returns {Promise<unknown>}
 */
function sendFeedback(serviceId, item) {
  return postJson(`/cds-services/${encodeURIComponent(serviceId)}/feedback`, { feedback: [item] });
}
