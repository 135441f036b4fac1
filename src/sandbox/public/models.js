// @ts-check
/**
 * /models-page: the model registry for people. The live version; a table of every registered
 * version against the model's patterns (assessed or not, since when, graph or learned head); each
 * version's registration; the audit log, newest first. In the sandbox the page acts as the demo IT
 * administrator: Promote (per version that is not live) and Roll back to previous, each with a
 * reason, post to the registry API and say the outcome in the polite live region, then reload.
 */
import { byId, h, say } from './dom.js';
import { postJson } from './fhir.js';
import { fetchAudit, fetchRegistry, formatDate, headWords, shortDigest, timeEl } from './registry.js';

/**
 * @typedef {import('./registry.js').Registry} Registry
 * @typedef {import('./registry.js').RegistryVersion} RegistryVersion
 * @typedef {import('./registry.js').AuditEntry} AuditEntry
 */

/** The sandbox's demo administrator (as X-Demo-Annotator names a demo annotator); production never reads it. */
const ADMIN_HEADER = 'X-Demo-Admin';
const ADMIN_ID = 'it-admin';

/** An action this page does not know yet is shown as the server names it. */
const ACTION_WORDS = /** @type {Readonly<Record<string, string | undefined>>} */ ({ register: 'Registered', promote: 'Promoted', rollback: 'Rolled back', install: 'Installed' });

const status = byId('models-status', HTMLElement);
const liveHeading = byId('live-heading', HTMLElement);
const liveBox = byId('live-version', HTMLElement);
const patternsBox = byId('patterns-table', HTMLElement);
const versionsBox = byId('versions', HTMLElement);
const auditBox = byId('audit', HTMLElement);

/** One request at a time: every action button says so while one runs. */
let busy = false;

/** @param {unknown} err */
const message = (err) => (err instanceof Error ? err.message : String(err));

/**
 * `{ live, from }` of a promote or rollback: each a version string or `{ version }`.
 * @param {unknown} v
 * @returns {string}
 */
function versionOf(v) {
  if (typeof v === 'string') {
    return v;
  }
  if (v && typeof v === 'object' && 'version' in v && typeof v.version === 'string') {
    return v.version;
  }
  return '';
}

/**
 * A reason field and a button in a form of their own: Enter in the field or on the button posts it.
 * @param {{ id: string, label: string, button: string, buttonHint: string, run: (reason: string) => Promise<void>, className?: string }} opts
 * @returns {HTMLFormElement}
 */
function actionForm(opts) {
  const input = h('input', { type: 'text', id: opts.id, name: 'reason', autocomplete: 'off', maxlength: 500 });
  const button = h('button', { type: 'submit', class: `button ${opts.className ?? 'button--primary'}`, 'data-action': 'admin' }, opts.button, h('span', { class: 'visually-hidden' }, ` ${opts.buttonHint}`));
  const form = h(
    'form',
    { class: 'admin-action', novalidate: true },
    h('label', { for: opts.id }, opts.label, h('span', { class: 'admin-action__optional' }, ' (optional; written to the audit log)')),
    h('div', { class: 'admin-action__row' }, input, button),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void opts.run(input.value.trim());
  });
  return form;
}

/**
 * Posts one change as the demo administrator; on success reloads everything and says what changed,
 * on refusal says the server's words and leaves the page (and focus) as it was.
 * @param {string} url
 * @param {string} reason
 * @param {string} doing e.g. "Promoting 1.6.0"
 * @param {(live: string, from: string) => string} done the outcome in words, from the answer's `{ live, from }`
 * @returns {Promise<void>}
 */
async function change(url, reason, doing, done) {
  if (busy) {
    say(status, 'Another change is still being made; wait for its outcome.', 'busy');
    return;
  }
  busy = true;
  for (const b of document.querySelectorAll('button[data-action="admin"]')) {
    b.setAttribute('aria-disabled', 'true');
  }
  say(status, `${doing}…`, 'busy');
  try {
    const answer = /** @type {{ live?: unknown, from?: unknown } | undefined} */ (await postJson(url, reason ? { reason } : {}, { [ADMIN_HEADER]: ADMIN_ID }));
    const outcome = done(versionOf(answer?.live), versionOf(answer?.from));
    try {
      await load();
      say(status, outcome);
    } catch (err) {
      say(status, `${outcome} The page could not reload the registry: ${message(err)}`, 'error');
    }
    // The button pressed may be gone (a live version has no Promote): go to the live version.
    liveHeading.focus();
  } catch (err) {
    say(status, `${doing} refused: ${message(err)}`, 'error');
  } finally {
    busy = false;
    for (const b of document.querySelectorAll('button[data-action="admin"]')) {
      b.removeAttribute('aria-disabled');
    }
  }
}

/**
 * @param {Registry} reg
 * @returns {HTMLElement[]}
 */
function renderLive(reg) {
  const live = reg.versions.find((v) => v.version === reg.live.version);
  return [
    h(
      'p',
      { class: 'live-version__name' },
      h('span', { class: 'live-version__number', id: 'live-version-number' }, reg.live.version),
      ' ',
      h('span', { class: 'tag tag--live' }, 'live'),
      ' since ',
      timeEl(reg.live.since, { withTime: true }),
    ),
    live
      ? h('p', {}, `Assesses ${live.patterns.filter((p) => p.assessed).length} of ${live.patterns.length} patterns: `, live.patterns.filter((p) => p.assessed).map((p) => p.display).join(', ') || 'none', '.')
      : h('p', { class: 'hint' }, 'The live version is not among the registered versions listed below.'),
    h('p', { class: 'hint' }, 'Installed network: ', shortDigest(reg.installedNetwork, 'network sha256'), '.'),
    actionForm({
      id: 'rollback-reason',
      label: 'Reason for rolling back',
      button: 'Roll back to previous',
      buttonHint: `version (${reg.live.version} is live now)`,
      className: 'button--quiet',
      run: (reason) =>
        change('/models/rollback', reason, `Rolling back from ${reg.live.version}`, (live, from) => `Rolled back: ${live || 'the previous version'} is live again (was ${from || reg.live.version}).`),
    }),
  ];
}

/**
 * Versions down, patterns across (in the order the versions list them, the manifest's).
 * @param {Registry} reg
 * @returns {HTMLElement}
 */
function renderPatternsTable(reg) {
  /** @type {Map<string, { display: string, role: string }>} */
  const columns = new Map();
  for (const v of reg.versions) {
    for (const p of v.patterns) {
      if (!columns.has(p.id)) {
        columns.set(p.id, { display: p.display, role: p.role });
      }
    }
  }
  const ids = [...columns.keys()];
  return h(
    'table',
    { class: 'pattern-matrix' },
    h('caption', {}, 'Patterns by model version: assessed or not, since which date, and by which head'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'Version'),
        ids.map((id) => {
          const c = columns.get(id);
          return h('th', { scope: 'col', 'data-pattern': id }, c?.display ?? id, h('span', { class: 'pattern-matrix__role' }, c?.role === 'negative' ? ' (argues against BCC)' : ' (BCC sign)'));
        }),
      ),
    ),
    h(
      'tbody',
      {},
      reg.versions.map((v) =>
        h(
          'tr',
          { 'data-version': v.version, class: v.live ? 'row--live' : '' },
          h('th', { scope: 'row' }, v.version, v.live ? [' ', h('span', { class: 'tag tag--live' }, 'live')] : null),
          ids.map((id) => {
            const p = v.patterns.find((x) => x.id === id);
            if (!p) {
              return h('td', { 'data-pattern': id, class: 'cell--none' }, 'not in this version');
            }
            if (!p.assessed) {
              return h('td', { 'data-pattern': id, class: 'cell--none' }, 'Not assessed');
            }
            return h(
              'td',
              { 'data-pattern': id, class: 'cell--assessed' },
              h('span', { class: 'cell__state' }, 'Assessed'),
              ' ',
              h('span', { class: 'cell__detail' }, p.since ? ['since ', timeEl(p.since)] : 'date not recorded'),
              ' ',
              h('span', { class: 'cell__detail' }, headWords(p.head)),
            );
          }),
        ),
      ),
    ),
  );
}

/**
 * @param {RegistryVersion} v
 * @param {Registry} reg
 * @returns {string}
 */
function whyNotPromotable(v, reg) {
  const why = [];
  if (v.patterns.length === 0) {
    why.push('its manifest no longer reads as a manifest of this service');
  }
  if (v.networkSha256 !== reg.installedNetwork) {
    why.push('its network is not the installed one');
  }
  return why.length ? why.join(' and ') : 'the registry does not allow it';
}

/**
 * @param {RegistryVersion} v
 * @param {Registry} reg
 * @param {number} k
 * @returns {HTMLElement}
 */
function renderVersion(v, reg, k) {
  const headingId = `version-${k}-heading`;
  const assessed = v.patterns.filter((p) => p.assessed);
  return h(
    'article',
    { class: `version${v.live ? ' version--live' : ''}`, 'aria-labelledby': headingId, 'data-version': v.version },
    h('h3', { id: headingId }, `Version ${v.version}`, v.live ? [' ', h('span', { class: 'tag tag--live' }, 'live')] : null),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Registered'),
      h('dd', {}, timeEl(v.registeredAt, { withTime: true }), ` by ${v.registeredBy}`),
      h('dt', {}, 'Acceptance report'),
      h('dd', {}, v.acceptanceSha256 ? shortDigest(v.acceptanceSha256, 'acceptance report digest') : 'none (a version shipped with its network)'),
      h('dt', {}, 'Network'),
      h('dd', {}, shortDigest(v.networkSha256, 'network sha256'), v.networkSha256 === reg.installedNetwork ? ' (the installed one)' : ' (not the installed one)'),
      h('dt', {}, 'Assesses'),
      h('dd', {}, assessed.length ? assessed.map((p) => `${p.display}${p.since ? ` since ${formatDate(p.since)}` : ''} (${headWords(p.head)})`).join('; ') : 'no pattern'),
    ),
    v.live
      ? h('p', { class: 'hint' }, 'This version answers the triage hook now.')
      : v.promotable
        ? actionForm({
            id: `promote-${k}-reason`,
            label: `Reason for promoting ${v.version}`,
            button: 'Promote',
            buttonHint: `${v.version} to live`,
            run: (reason) =>
              change(`/models/${encodeURIComponent(v.version)}/promote`, reason, `Promoting ${v.version}`, (live, from) => `Promoted ${live || v.version}: it is live now (was ${from || reg.live.version}).`),
          })
        : h('p', { class: 'hint' }, `Cannot be promoted: ${whyNotPromotable(v, reg)}.`),
  );
}

/**
 * @param {AuditEntry[]} entries
 * @returns {HTMLElement}
 */
function renderAudit(entries) {
  if (entries.length === 0) {
    return h('p', { class: 'empty' }, 'No changes recorded yet.');
  }
  return h(
    'table',
    { class: 'audit' },
    h('caption', {}, 'Changes to the model registry, newest first'),
    h(
      'thead',
      {},
      h('tr', {}, ['When', 'Action', 'Version', 'From', 'By', 'Reason', 'Acceptance report'].map((t) => h('th', { scope: 'col' }, t))),
    ),
    h(
      'tbody',
      {},
      entries.map((e) =>
        h(
          'tr',
          { 'data-action': e.action, 'data-id': e.id },
          h('td', {}, timeEl(e.at, { withTime: true })),
          h('th', { scope: 'row' }, ACTION_WORDS[e.action] ?? e.action),
          h('td', {}, e.version),
          h('td', {}, e.fromVersion ?? '—'),
          h('td', {}, e.actor),
          h('td', {}, e.reason ? e.reason : h('span', { class: 'empty' }, 'none given')),
          h('td', {}, e.acceptanceSha256 ? shortDigest(e.acceptanceSha256, 'acceptance report digest') : '—'),
        ),
      ),
    ),
  );
}

/** Reads the registry and the audit log and redraws every section. */
async function load() {
  const [reg, audit] = await Promise.all([fetchRegistry(), fetchAudit()]);
  liveBox.replaceChildren(...renderLive(reg));
  patternsBox.replaceChildren(renderPatternsTable(reg));
  versionsBox.replaceChildren(...reg.versions.map((v, k) => renderVersion(v, reg, k)));
  auditBox.replaceChildren(renderAudit(audit));
  return reg;
}

async function main() {
  try {
    const reg = await load();
    const n = reg.versions.length;
    say(status, `${n} version${n === 1 ? '' : 's'} registered; ${reg.live.version} is live.`);
  } catch (err) {
    say(status, `The model registry cannot be shown: ${message(err)}`, 'error');
  }
}

void main();
