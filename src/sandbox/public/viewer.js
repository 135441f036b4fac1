// @ts-check
/**
 * One triage report. Launched as a SMART app (/viewer/callback, then /viewer/smart): the report the
 * card's appContext names, read from the EHR's FHIR server with this tab's access token
 * (GET /viewer/api/report/<id>, images through /viewer/api/image). In the sandbox's own page
 * (/viewer/<report id>): from the service's memory or read back from its FHIR server
 * (GET /sandbox/api/reports/<id>). Per image: the original with a heatmap overlay per output
 * (toggle and opacity each), the probabilities as bars, the rule trace in words.
 */
import { byId, h, safeLink, say } from './dom.js';
import { fetchJson, fhir } from './fhir.js';
import { annotationPanel, loadAnnotationContext } from './annotate.js';
import { MODELS_PAGE_PATH, assessedSummary, fetchRegistry, formatDate } from './registry.js';
import { fetchWithToken, isSmartPage, smartImageUrl, smartSession } from './smart-session.js';

/**
 * @typedef {{ output: string, title: string, png: string, width: number, height: number, description?: string }} Overlay
 * @typedef {{ denominator: number, frequency: number, interval?: [number, number], baseRate: number, population: string, text: string }} Risk
 * @typedef {{ id: string, display: string, status: 'present' | 'absent' | 'not-assessed', probability?: number, threshold?: number }} Pattern
 * @typedef {{
 *   index: number, source: string, label: string, ok: boolean, reason?: string, notAssessed?: boolean, deciding?: boolean,
 *   categoryDisplay?: string, bccProbability?: number, networkVerdict?: 'bcc' | 'not-bcc', rule?: string,
 *   trace: string[], patterns: Pattern[], overlays: Overlay[]
 * }} ViewerImage
 * @typedef {{
 *   reportId: string, origin: 'memory' | 'fhir', status: string, category?: string, categoryDisplay: string,
 *   bccProbability?: number, risk?: Risk, conclusion: string, issued?: string, referral?: string, patient?: string,
 *   model: { name: string, version: string, modelCardPath: string }, rules?: { id: string, version: string },
 *   disclaimer: string, images: ViewerImage[]
 * }} ViewerModel
 */

const INDICATOR_BY_CATEGORY = /** @type {Readonly<Record<string, string>>} */ ({ high: 'critical', moderate: 'warning', indeterminate: 'warning', low: 'info' });
const DEFAULT_OPACITY = 70;

const status = byId('viewer-status', HTMLElement);
const root = byId('report', HTMLElement);

/**
 * How this page reads a report's source image and who annotates: set once the page knows whether
 * it was launched as a SMART app.
 * @type {{ image: (reference: string) => Promise<string | undefined>, user?: import('./annotate.js').SignedIn, signedInAs?: string }}
 */
const mode = { image: sourceImageUrl };

/**
 * The referral image as a blob: URL, from its FHIR Media (inline data or an attachment URL) or a
 * DocumentReference's first attachment.
 * @param {string} reference
 * @returns {Promise<string | undefined>}
 */
async function sourceImageUrl(reference) {
  if (!/^(Media|DocumentReference)\/[A-Za-z0-9\-.]{1,64}$/.test(reference)) {
    return undefined;
  }
  const r = await fhir('GET', reference);
  const attachment = /** @type {{ contentType?: string, data?: string, url?: string } | undefined} */ (
    r.resourceType === 'Media' ? r.content : /** @type {{ attachment?: unknown }[] | undefined} */ (r.content)?.[0]?.attachment
  );
  if (attachment?.data) {
    const bytes = Uint8Array.from(atob(attachment.data), (c) => c.charCodeAt(0));
    return URL.createObjectURL(new Blob([bytes], { type: attachment.contentType ?? 'image/jpeg' }));
  }
  if (attachment?.url && /^Binary\/[A-Za-z0-9\-.]{1,64}$/.test(attachment.url)) {
    const res = await fetch(`/fhir/${attachment.url}`, { headers: { accept: 'image/*' } });
    return res.ok ? URL.createObjectURL(await res.blob()) : undefined;
  }
  return undefined;
}

/**
 * True when an overlay PNG has no visible pixel: the map is all below the display threshold, and
 * the page says so instead of letting a toggle show nothing. (A data: URL does not taint a canvas.)
 * @param {HTMLImageElement} img
 * @returns {boolean}
 */
function isBlank(img) {
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx || canvas.width === 0) {
    return false;
  }
  ctx.drawImage(img, 0, 0);
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < data.length; i += 4) {
    if ((data[i] ?? 0) > 0) {
      return false;
    }
  }
  return true;
}

/**
 * @param {number | undefined} p
 * @param {number} [digits]
 */
const fmt = (p, digits = 2) => (p === undefined ? '—' : p.toFixed(digits));

/**
 * @param {ViewerImage} img
 * @param {number} n
 * @returns {HTMLElement}
 */
function imageStage(img, n) {
  const first = img.overlays[0];
  const stage = h('div', { class: 'stage' });
  if (first && first.width > 0 && first.height > 0) {
    stage.style.aspectRatio = `${first.width} / ${first.height}`;
  }
  const base = h('img', { class: 'stage__base', alt: `Dermoscopic image: ${img.label}` });
  stage.append(base);
  mode.image(img.source).then(
    (url) => {
      if (url) {
        base.src = url;
      } else {
        base.replaceWith(h('p', { class: 'stage__missing' }, `The original image (${img.source}) cannot be shown here.`));
      }
    },
    () => { base.replaceWith(h('p', { class: 'stage__missing' }, `The original image (${img.source}) could not be read from the FHIR server.`)); },
  );
  /** @type {HTMLElement[]} */
  const controls = img.overlays.map((o, k) => {
    // The words are beside the picture (heatmapsInWords), so the overlay itself stays decorative.
    const overlay = h('img', { class: 'stage__overlay', src: o.png, alt: '', 'data-output': o.output });
    overlay.style.opacity = String(DEFAULT_OPACITY / 100);
    overlay.hidden = k !== 0;
    stage.append(overlay);
    const toggleId = `overlay-${n}-${k}`;
    const toggle = h('input', { type: 'checkbox', id: toggleId, 'data-output': o.output, checked: k === 0 });
    const slider = h('input', {
      type: 'range',
      id: `${toggleId}-opacity`,
      min: 0,
      max: 100,
      step: 5,
      value: DEFAULT_OPACITY,
      'aria-valuetext': `${DEFAULT_OPACITY}%`,
      'data-output': o.output,
    });
    const shown = h('output', { for: slider.id }, `${DEFAULT_OPACITY}%`);
    const label = h('label', { for: toggleId }, o.title);
    if (o.description) {
      toggle.setAttribute('aria-describedby', `${toggleId}-words`);
    }
    overlay.addEventListener('load', () => {
      if (isBlank(overlay)) {
        label.append(h('span', { class: 'overlay-control__note' }, ' (no evidence above the display threshold: nothing to draw)'));
      }
    });
    toggle.addEventListener('change', () => {
      overlay.hidden = !toggle.checked;
    });
    slider.addEventListener('input', () => {
      overlay.style.opacity = String(Number(slider.value) / 100);
      slider.setAttribute('aria-valuetext', `${slider.value}%`);
      shown.textContent = `${slider.value}%`;
    });
    return h(
      'div',
      { class: 'overlay-control' },
      h('div', { class: 'overlay-control__toggle' }, toggle, label),
      h('div', { class: 'overlay-control__opacity' }, h('label', { for: slider.id }, h('span', { class: 'visually-hidden' }, `${o.title} `), 'opacity'), slider, shown),
    );
  });
  return h(
    'div',
    { class: 'image-grid' },
    h(
      'figure',
      { class: 'figure' },
      stage,
      h('figcaption', {}, 'Heatmaps are coarse (about 32 px cells): where the model found evidence, not a lesion outline.', heatmapsInWords(img.overlays, n)),
      img.overlays.length ? colourLegend() : null,
    ),
    img.overlays.length
      ? h(
          'fieldset',
          { class: 'overlay-controls' },
          h('legend', {}, 'Heatmap overlays'),
          controls,
        )
      : h('p', { class: 'hint' }, 'No heatmaps for this image.'),
  );
}

/**
 * Each heatmap in words (computed by the server from the overlay's own pixels): the text alternative
 * of the overlays, read by screen readers and printed with the report.
 * @param {Overlay[]} overlays
 * @param {number} n
 * @returns {HTMLElement | null}
 */
function heatmapsInWords(overlays, n) {
  const described = overlays.map((o, k) => ({ o, k })).filter(({ o }) => o.description);
  if (!described.length) {
    return null;
  }
  return h(
    'ul',
    { class: 'heatmap-words', 'aria-label': 'The heatmaps in words' },
    described.map(({ o, k }) => h('li', { id: `overlay-${n}-${k}-words`, 'data-output': o.output }, h('strong', {}, `${o.title}: `), o.description ?? '')),
  );
}

/**
 * The colour scale of every overlay (viridis, src/explain/colormap.ts): dark blue for the weakest
 * evidence drawn, through green, to yellow for the strongest; below the display threshold nothing.
 * @returns {HTMLElement}
 */
function colourLegend() {
  return h(
    'div',
    { class: 'legend-scale' },
    h('span', { class: 'legend-scale__label' }, 'Colour scale:'),
    h('span', {}, 'weaker'),
    h('span', { class: 'legend-scale__bar', role: 'img', 'aria-label': 'dark blue (weaker evidence) through green to yellow (strongest evidence); no colour where the evidence is below the display threshold' }),
    h('span', {}, 'strongest evidence'),
  );
}

/**
 * One icon array: `filled` of `denominator` squares, one accessible name stating the frequency (the
 * squares themselves are not read one by one).
 * @param {number} filled
 * @param {number} denominator
 * @param {string} caption
 * @param {string} says
 * @param {'band' | 'base-rate'} kind
 * @returns {HTMLElement}
 */
function iconArray(filled, denominator, caption, says, kind) {
  const icons = [];
  for (let i = 0; i < denominator; i++) {
    icons.push(h('span', { class: `icon-array__icon${i < filled ? ' icon-array__icon--bcc' : ''}` }));
  }
  return h(
    'div',
    { class: 'risk-figure__array' },
    h('p', { class: 'risk-figure__caption', 'aria-hidden': 'true' }, caption),
    h('div', { class: `icon-array icon-array--${denominator}`, role: 'img', 'aria-label': `Icon array: ${filled} of ${denominator} icons filled. ${says}`, 'data-kind': kind, 'data-frequency': filled, 'data-denominator': denominator }, icons),
  );
}

/**
 * The risk as icon arrays (Galesic, Garcia-Retamero & Gigerenzer 2009): the score's band beside the
 * base rate, over one denominator, as the report's PDF draws them. The numbers are the server's
 * risk statement (docs/risk-communication.md), never computed here.
 * @param {Risk} risk
 * @returns {HTMLElement}
 */
function riskFigure(risk) {
  const n = risk.denominator;
  return h(
    'figure',
    { class: 'risk-figure' },
    h(
      'div',
      { class: 'risk-figure__arrays' },
      iconArray(risk.frequency, n, `Scored like this: ${risk.frequency} in ${n}`, `About ${risk.frequency} in ${n} lesions scored like this were BCC in validation.`, 'band'),
      iconArray(risk.baseRate, n, `All ${risk.population}: ${risk.baseRate} in ${n}`, `In ${risk.population} as a whole, ${risk.baseRate} in ${n} were BCC.`, 'base-rate'),
    ),
    h(
      'figcaption',
      {},
      h('p', { class: 'icon-array__key', 'aria-hidden': 'true' }, h('span', { class: 'icon-array__icon icon-array__icon--bcc' }), ' BCC  ', h('span', { class: 'icon-array__icon' }), ' not BCC'),
      h('p', { class: 'risk-figure__text' }, risk.text),
    ),
  );
}

/**
 * Three decimals, or two significant digits for a very low threshold (0.00025 must not read 0.000).
 * @param {number} t
 * @returns {string}
 */
function formatThreshold(t) {
  return t > 0 && t < 0.01 ? t.toPrecision(2) : t.toFixed(3);
}

/**
 * One probability as a row: name, number, bar, what it means. A not-assessed pattern has no
 * number and no bar: the installed model has no trained output for it.
 * @param {string} name
 * @param {Pattern['status'] | 'bcc'} kind
 * @param {number | undefined} p
 * @param {number | undefined} threshold
 * @param {string} meaning
 */
function barRow(name, kind, p, threshold, meaning) {
  const notAssessed = kind === 'not-assessed';
  const bar = h('div', { class: `bar${notAssessed ? ' bar--none' : ''}`, 'aria-hidden': 'true' });
  if (!notAssessed && p !== undefined) {
    const fill = h('span', { class: `bar__fill bar__fill--${kind}` });
    fill.style.width = `${Math.max(0, Math.min(1, p)) * 100}%`;
    bar.append(fill);
    if (threshold !== undefined) {
      const tick = h('span', { class: 'bar__threshold', title: `threshold ${formatThreshold(threshold)}` });
      tick.style.left = `${Math.max(0, Math.min(1, threshold)) * 100}%`;
      bar.append(tick);
    }
  }
  return h(
    'tr',
    { class: notAssessed ? 'row--not-assessed' : '' },
    h('th', { scope: 'row' }, name),
    h('td', { class: 'num' }, notAssessed ? '—' : fmt(p, 3)),
    h('td', { class: 'bar-cell' }, bar),
    h('td', {}, meaning),
  );
}

/**
 * @param {ViewerImage} img
 * @returns {HTMLElement}
 */
function probabilityTable(img) {
  const rows = [
    barRow('Basal cell carcinoma', 'bcc', img.bccProbability, undefined, img.networkVerdict === 'bcc' ? 'network: BCC' : img.networkVerdict === 'not-bcc' ? 'network: not BCC' : ''),
    ...img.patterns.map((p) =>
      barRow(
        p.display,
        p.status,
        p.probability,
        p.threshold,
        p.status === 'not-assessed' ? 'not assessed by this model' : `${p.status}${p.threshold !== undefined ? ` (threshold ${formatThreshold(p.threshold)})` : ''}`,
      ),
    ),
  ];
  return h(
    'div',
    { class: 'table-scroll' },
    h(
      'table',
      { class: 'probabilities' },
      h('caption', {}, `Model outputs for image ${img.index + 1}`),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Output'), h('th', { scope: 'col', class: 'num' }, 'Probability'), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Bar')), h('th', { scope: 'col' }, 'Reading'))),
      h('tbody', {}, rows),
    ),
  );
}

/**
 * @param {ViewerImage} img
 * @param {ViewerModel} model
 * @param {Promise<import('./annotate.js').AnnotationContext>} annotations
 * @returns {HTMLElement}
 */
function imageSection(img, model, annotations) {
  const headingId = `image-${img.index}-heading`;
  const title = `Image ${img.index + 1}: ${img.label}`;
  if (!img.ok) {
    const status = img.notAssessed ? 'not assessed' : 'unreadable';
    const why = img.notAssessed ? `The image gate did not let the model score this image: ${img.reason ?? 'no reason given'}` : `The model could not read this image: ${img.reason ?? 'no reason given'}`;
    return h('section', { class: 'panel image-result', 'aria-labelledby': headingId }, h('h2', { id: headingId }, `${title} (${status})`), h('p', {}, why));
  }
  const stage = imageStage(img, img.index);
  return h(
    'section',
    { class: 'panel image-result', 'aria-labelledby': headingId },
    h('h2', { id: headingId }, title, img.deciding ? h('span', { class: 'tag' }, 'sets the priority') : null),
    h('p', { class: 'image-summary' }, img.categoryDisplay ? `${img.categoryDisplay} · ` : '', `BCC probability ${fmt(img.bccProbability, 3)}`, img.rule ? ` · rule ${img.rule}` : ''),
    stage,
    annotationPanel({
      reportId: model.reportId,
      image: img.source,
      index: img.index,
      patterns: img.patterns,
      model: model.model,
      stage: stage.querySelector('.stage'),
      context: annotations,
      ...(mode.user ? { user: mode.user } : {}),
    }),
    h('h3', {}, 'Probabilities'),
    probabilityTable(img),
    h('h3', {}, 'Why: the rule trace'),
    img.trace.length ? h('ol', { class: 'trace' }, img.trace.map((t) => h('li', {}, t))) : h('p', {}, 'No trace recorded.'),
    model.rules ? h('p', { class: 'hint' }, `Rules ${model.rules.id} ${model.rules.version}${img.rule ? `, row ${img.rule}` : ''}.`) : null,
  );
}

/**
 * What the model registry (GET /models) knows of the version that made this report: whether it is
 * still live, and which patterns it assesses since when. Filled in when the registry answers; an old
 * version the registry does not hold is said to be so.
 * @param {string} version
 * @returns {HTMLElement}
 */
function modelVersionNote(version) {
  const note = h('span', { class: 'model-version-note', id: 'model-version-note', 'data-state': 'loading' }, 'Looking up this version in the model registry…');
  const link = h('a', { href: MODELS_PAGE_PATH }, 'all model versions');
  fetchRegistry().then(
    (reg) => {
      const v = reg.versions.find((x) => x.version === version);
      if (!v) {
        note.dataset.state = 'unregistered';
        note.replaceChildren(
          `Made by ${version}, which is not in this service's model registry (a report from an older model): which patterns that version assessed, and since when, is not recorded here; the probabilities below show what it assessed. ${reg.live.version} is live since ${formatDate(reg.live.since)} (`,
          link,
          ').',
        );
        return;
      }
      const live = v.live || v.version === reg.live.version;
      note.dataset.state = live ? 'live' : 'not-live';
      note.replaceChildren(
        live ? `Made by ${v.version} (live since ${formatDate(reg.live.since)})` : `Made by ${v.version}, no longer live (${reg.live.version} is live since ${formatDate(reg.live.since)})`,
        `; assesses ${assessedSummary(v)}`,
        ' (',
        link,
        ').',
      );
    },
    (/** @type {unknown} */ err) => {
      note.dataset.state = 'error';
      note.replaceChildren(`Made by ${version}; the model registry could not be read (${err instanceof Error ? err.message : String(err)}), so which patterns it assesses is not shown here (`, link, ').');
    },
  );
  return note;
}

/**
 * Prints the report (the print stylesheet shows the result, the icon array, the overlays shown and
 * the heatmaps in words, and hides the controls).
 * @returns {HTMLElement}
 */
function printButton() {
  const button = h('button', { type: 'button', class: 'button print-button' }, 'Print the report');
  button.addEventListener('click', () => { window.print(); });
  return button;
}

/**
 * @param {ViewerModel} model
 * @returns {HTMLElement[]}
 */
function renderReport(model) {
  const annotations = loadAnnotationContext(model.reportId, mode.user);
  const indicator = INDICATOR_BY_CATEGORY[model.category ?? ''] ?? 'info';
  const facts = /** @type {[string, Node | string][]} */ ([
    ['Status', `${model.status}${model.status === 'preliminary' ? ' (not yet reviewed by a clinician)' : ''}`],
    ['Saved', model.origin === 'fhir' ? (mode.user ? "read from the EHR's FHIR server" : 'read from the FHIR server') : 'as the service answered (save it from the card to file it)'],
    ...(mode.signedInAs ? /** @type {[string, string][]} */ ([['Signed in as', mode.signedInAs]]) : []),
    ...(model.issued ? /** @type {[string, string][]} */ ([['Issued', new Date(model.issued).toLocaleString()]]) : []),
    ...(model.referral ? /** @type {[string, string][]} */ ([['Referral', model.referral]]) : []),
    ...(model.patient ? /** @type {[string, string][]} */ ([['Patient', model.patient]]) : []),
    ['Model', h('span', {}, `${model.model.name} ${model.model.version} (`, safeLink('model card', model.model.modelCardPath), ')')],
    ['Model version', modelVersionNote(model.model.version)],
  ]);
  return [
    h(
      'section',
      { class: `panel summary summary--${indicator}`, 'aria-labelledby': 'summary-heading' },
      h('h2', { id: 'summary-heading' }, h('span', { class: `indicator indicator--${indicator}` }, model.categoryDisplay)),
      h('p', { class: 'summary__probability' }, `BCC probability ${fmt(model.bccProbability)}`, h('span', { class: 'summary__disclaimer' }, ` · ${model.disclaimer}`)),
      model.risk ? riskFigure(model.risk) : null,
      model.conclusion ? h('p', { class: 'summary__conclusion' }, model.conclusion) : null,
      printButton(),
      h('dl', { class: 'facts' }, facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    ),
    ...model.images.map((img) => imageSection(img, model, annotations)),
  ];
}

/**
 * The report this page shows: the SMART launch's (appContext) or the one in the sandbox page's path.
 * @returns {Promise<ViewerModel>}
 */
async function loadReport() {
  if (!isSmartPage()) {
    const id = decodeURIComponent(location.pathname.replace(/^\/viewer\//, '').replace(/\/+$/, ''));
    return /** @type {ViewerModel} */ (await fetchJson(`/sandbox/api/reports/${encodeURIComponent(id)}`));
  }
  // Launched from an EHR: the sandbox's own pages may not exist on this service.
  document.querySelectorAll('[data-sandbox-page]').forEach((el) => { el.remove(); });
  const session = await smartSession();
  const name = session.user?.name ?? session.user?.fhirUser ?? session.user?.sub;
  mode.image = (reference) => smartImageUrl(session, reference);
  mode.user = { ...(session.idToken ? { token: session.idToken } : {}), id: session.user?.sub ?? '', name: name ?? 'an unnamed user' };
  mode.signedInAs = name ? `${name} (through the EHR)` : 'a user the EHR did not name';
  return /** @type {ViewerModel} */ (await fetchWithToken(session, `/viewer/api/report/${encodeURIComponent(session.reportId)}`));
}

async function main() {
  try {
    const model = await loadReport();
    root.replaceChildren(...renderReport(model));
    document.title = `${model.categoryDisplay} · BCC triage result`;
    byId('report-title', HTMLElement).textContent = 'BCC triage result';
    say(status, '');
    status.hidden = true;
  } catch (err) {
    say(status, `No triage report to show: ${err instanceof Error ? err.message : String(err)}`, 'error');
    status.setAttribute('role', 'alert');
  }
}

void main();
