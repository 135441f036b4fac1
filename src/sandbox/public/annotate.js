// @ts-check
/**
 * The viewer's "Annotate patterns" panel (issue 16): per image, for each of the model's seven
 * dermoscopic patterns, the annotator's present / absent / cannot tell, and optionally the region
 * as a mask painted on a canvas over the image. Native radios in fieldsets, so the keyboard works
 * as it does everywhere (Tab into a group, arrow keys between options); the region has a keyboard
 * alternative (an ellipse over the centre of the image). Saves with POST /annotations, one request
 * per changed pattern; the annotator's saved answers come from GET /annotations?report=.
 * Launched as a SMART app, the annotator is whoever signed in at the EHR: every call carries the
 * id_token as `Authorization: Bearer` and the service verifies it (401: sign in again; 403: not an
 * annotator). In the sandbox's own viewer page, a named demo annotator instead.
 */
import { h, say } from './dom.js';
import { HttpError, fetchJson, postJson } from './fhir.js';

/**
 * @typedef {'present' | 'absent' | 'cannot-tell'} AnnotationValue
 * @typedef {{ authentication: 'bearer' | 'demo' | 'off', header?: string, annotators: { id: string, name: string }[] }} AnnotatorDirectory
 * @typedef {{
 *   id: string, reportId: string, image: string, pattern: string, value: AnnotationValue,
 *   annotator: { issuer: string, id: string, name?: string }, model: { name: string, version: string },
 *   region?: { png: string, width: number, height: number }, createdAt: string, updatedAt: string
 * }} Annotation
 * @typedef {{ directory: AnnotatorDirectory, annotations: Annotation[] }} AnnotationContext
 * @typedef {{ id: string, display: string, status: 'present' | 'absent' | 'not-assessed' }} PatternRef
 * @typedef {{ token?: string, id: string, name: string }} SignedIn the SMART launch's user: the id_token and who it names
 */

/** @type {readonly { value: AnnotationValue, label: string }[]} */
const VALUES = [
  { value: 'present', label: 'Present' },
  { value: 'absent', label: 'Absent' },
  { value: 'cannot-tell', label: 'Cannot tell' },
];

/** Remembers the chosen demo annotator across reloads (sandbox only). */
const ANNOTATOR_KEY = 'bcc-cds.demo-annotator';
/** The mask's width in canvas pixels; the server stretches it over the image, as the heatmaps are. */
const MASK_WIDTH = 320;
const BRUSH_RADIUS = 14;

/**
 * @param {SignedIn | undefined} user
 * @returns {Record<string, string>}
 */
function bearer(user) {
  return user?.token ? { authorization: `Bearer ${user.token}` } : {};
}

/**
 * What a refused call means for the person at the viewer; nothing was stored.
 * @param {unknown} err
 * @param {SignedIn | undefined} user
 * @returns {string}
 */
function explainRefusal(err, user) {
  if (user && err instanceof HttpError && err.status === 401) {
    return 'Sign in as an annotator: the service did not accept your sign-in (expired, or not from an identity provider it trusts). Open the viewer again from the card in the EHR. Nothing was saved.';
  }
  if (user && err instanceof HttpError && err.status === 403) {
    return `Sign in as an annotator: you are signed in as ${user.name}, who does not have the annotator role. Nothing was saved.`;
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * The directory and this report's annotations, fetched once for every image's panel.
 * @param {string} reportId
 * @param {SignedIn} [user] the SMART launch's user (its id_token), when there is one
 * @returns {Promise<AnnotationContext>}
 */
export async function loadAnnotationContext(reportId, user) {
  const [directory, list] = await Promise.all([
    fetchJson('/annotations/annotators'),
    fetchJson(`/annotations?report=${encodeURIComponent(reportId)}`, { headers: bearer(user) }),
  ]);
  return {
    directory: /** @type {AnnotatorDirectory} */ (directory),
    annotations: /** @type {{ annotations: Annotation[] }} */ (list).annotations,
  };
}

function storedAnnotator() {
  try {
    return localStorage.getItem(ANNOTATOR_KEY) ?? '';
  } catch {
    return '';
  }
}

/** @param {string} id */
function rememberAnnotator(id) {
  try {
    localStorage.setItem(ANNOTATOR_KEY, id);
  } catch {
    // Private mode: the choice is just not remembered.
  }
}

/**
 * One pattern's region: a canvas over the image (shown while drawing), painted with the pointer
 * or, from the keyboard, filled with an ellipse over the centre.
 * @param {HTMLElement} stage
 * @param {string} patternId
 * @param {string} display
 */
function regionCanvas(stage, patternId, display) {
  const ratio = stage.style.aspectRatio ? stage.style.aspectRatio.split('/').map((s) => Number(s.trim())) : [4, 3];
  const [w = 4, hgt = 3] = ratio;
  const canvas = h('canvas', { class: 'stage__region', 'data-pattern': patternId, 'aria-label': `Region of ${display}: paint with the pointer`, role: 'img' });
  canvas.width = MASK_WIDTH;
  canvas.height = Math.max(1, Math.round((MASK_WIDTH * hgt) / (w || 1)));
  canvas.hidden = true;
  stage.append(canvas);
  const ctx = canvas.getContext('2d');
  let painted = false;
  let drawing = false;
  /** @type {() => void} */
  let onChange = () => undefined;
  /** @param {PointerEvent} e */
  const paint = (e) => {
    const box = canvas.getBoundingClientRect();
    if (!ctx || box.width === 0 || box.height === 0) {
      return;
    }
    const x = ((e.clientX - box.left) / box.width) * canvas.width;
    const y = ((e.clientY - box.top) / box.height) * canvas.height;
    ctx.fillStyle = '#ffd166';
    ctx.beginPath();
    ctx.arc(x, y, BRUSH_RADIUS, 0, 2 * Math.PI);
    ctx.fill();
    painted = true;
    onChange();
  };
  canvas.addEventListener('pointerdown', (e) => {
    drawing = true;
    canvas.setPointerCapture(e.pointerId);
    paint(e);
  });
  canvas.addEventListener('pointermove', (e) => {
    if (drawing) {
      paint(e);
    }
  });
  const stop = () => {
    drawing = false;
  };
  canvas.addEventListener('pointerup', stop);
  canvas.addEventListener('pointercancel', stop);
  return {
    canvas,
    get painted() {
      return painted;
    },
    /** @param {() => void} fn */
    set onChange(fn) {
      onChange = fn;
    },
    markCentre() {
      if (!ctx) {
        return;
      }
      ctx.fillStyle = '#ffd166';
      ctx.beginPath();
      ctx.ellipse(canvas.width / 2, canvas.height / 2, canvas.width * 0.35, canvas.height * 0.35, 0, 0, 2 * Math.PI);
      ctx.fill();
      painted = true;
      onChange();
    },
    clear() {
      ctx?.clearRect(0, 0, canvas.width, canvas.height);
      painted = false;
      onChange();
    },
    /**
     * A saved region (a 1-bit PNG, white inside): drawn as the paint colour, so what is sent back
     * unchanged is the same region.
     * @param {string | undefined} png data URL
     * @returns {Promise<void>}
     */
    async load(png) {
      ctx?.clearRect(0, 0, canvas.width, canvas.height);
      painted = false;
      if (!png || !ctx) {
        return;
      }
      const img = new Image();
      img.src = png;
      await img.decode();
      const scratch = document.createElement('canvas');
      scratch.width = canvas.width;
      scratch.height = canvas.height;
      const sctx = scratch.getContext('2d', { willReadFrequently: true });
      if (!sctx) {
        return;
      }
      sctx.drawImage(img, 0, 0, scratch.width, scratch.height);
      const data = sctx.getImageData(0, 0, scratch.width, scratch.height);
      const out = ctx.createImageData(scratch.width, scratch.height);
      for (let i = 0; i < data.data.length; i += 4) {
        if ((data.data[i] ?? 0) >= 128) {
          out.data.set([255, 209, 102, 255], i);
          painted = true;
        }
      }
      ctx.putImageData(out, 0, 0);
    },
  };
}

/**
 * @param {{
 *   reportId: string, image: string, index: number, patterns: readonly PatternRef[],
 *   model: { name: string, version: string }, stage: HTMLElement | null, context: Promise<AnnotationContext>,
 *   user?: SignedIn
 * }} opts
 * @returns {HTMLElement}
 */
export function annotationPanel(opts) {
  const n = opts.index;
  const headingId = `annotate-${n}-heading`;
  const live = h('p', { class: 'status annotate__status', role: 'status', 'aria-live': 'polite', id: `annotate-${n}-status` });
  const body = h('div', { class: 'annotate__body' }, h('p', { class: 'hint' }, 'Loading annotations…'));
  const section = h(
    'section',
    { class: 'annotate', 'aria-labelledby': headingId, 'data-image': opts.image },
    h('h3', { id: headingId }, 'Annotate patterns'),
    h('p', { class: 'hint' }, `Your reading of each pattern on this image, as shown with model ${opts.model.name} ${opts.model.version}. It teaches the model; it does not change this result.`),
    body,
    live,
  );
  opts.context.then(
    (ctx) => {
      body.replaceChildren(...renderForm(opts, ctx, live));
    },
    (/** @type {unknown} */ err) => {
      body.replaceChildren();
      say(live, opts.user && err instanceof HttpError && (err.status === 401 || err.status === 403) ? explainRefusal(err, opts.user) : `Annotations cannot be shown: ${err instanceof Error ? err.message : String(err)}`, 'error');
    },
  );
  return section;
}

/**
 * @param {Parameters<typeof annotationPanel>[0]} opts
 * @param {AnnotationContext} ctx
 * @param {HTMLElement} live
 * @returns {HTMLElement[]}
 */
function renderForm(opts, ctx, live) {
  const n = opts.index;
  const { directory } = ctx;
  const user = opts.user;
  if (directory.authentication === 'off') {
    return [h('p', { class: 'hint' }, 'Annotation is not configured on this service.')];
  }
  if (user && !user.token) {
    return [h('p', { class: 'hint' }, 'Annotating needs your identity from the EHR (an OpenID Connect id_token), and this sign-in carried none: ask the EHR team to grant the viewer the openid scope.')];
  }
  if (!user && (directory.authentication !== 'demo' || !directory.header)) {
    return [h('p', { class: 'hint' }, 'Sign in as an annotator: open this report in the viewer from the card in the EHR.')];
  }
  const header = directory.header ?? '';
  const remembered = user ? user.id : storedAnnotator();
  const whoName = `annotate-${n}-annotator`;
  const whoRadios = user
    ? []
    : directory.annotators.map((a) => h('input', { type: 'radio', name: whoName, id: `${whoName}-${a.id}`, value: a.id, checked: a.id === remembered }));
  const who = user
    ? h('p', { class: 'annotate__who' }, 'Annotating as ', h('strong', {}, user.name), ' (signed in through the EHR)')
    : h(
        'fieldset',
        { class: 'annotate__who' },
        h('legend', {}, 'Annotating as (demo annotator)'),
        directory.annotators.map((a, k) => h('div', { class: 'choice' }, whoRadios[k], h('label', { for: `${whoName}-${a.id}` }, a.name))),
      );

  /** @type {{ drawButton: HTMLButtonElement, region: ReturnType<typeof regionCanvas> | undefined, regionNote: HTMLElement, regionDirty: boolean, pattern: PatternRef, radios: HTMLInputElement[], saved: Annotation | undefined }[]} */
  const rows = [];
  const setDrawing = (/** @type {typeof rows[number] | undefined} */ active) => {
    for (const r of rows) {
      const on = r === active;
      r.drawButton.setAttribute('aria-pressed', String(on));
      if (r.region) {
        r.region.canvas.hidden = !on;
      }
    }
  };
  const patternSets = opts.patterns.map((p) => {
    const name = `annotate-${n}-${p.id}`;
    const radios = VALUES.map((v) => h('input', { type: 'radio', name, id: `${name}-${v.value}`, value: v.value, 'data-pattern': p.id }));
    const drawButton = h('button', { type: 'button', class: 'button button--quiet', 'aria-pressed': 'false', 'data-action': 'draw' }, 'Draw region', h('span', { class: 'visually-hidden' }, ` for ${p.display}`));
    const markButton = h('button', { type: 'button', class: 'button button--quiet', 'data-action': 'mark' }, 'Mark whole lesion area', h('span', { class: 'visually-hidden' }, ` for ${p.display}`));
    const clearButton = h('button', { type: 'button', class: 'button button--quiet', 'data-action': 'clear' }, 'Clear region', h('span', { class: 'visually-hidden' }, ` for ${p.display}`));
    const regionNote = h('span', { class: 'annotate__region-note', 'data-pattern': p.id }, 'No region.');
    const region = opts.stage ? regionCanvas(opts.stage, p.id, p.display) : undefined;
    const row = { drawButton, region, regionNote, regionDirty: false, pattern: p, radios, saved: /** @type {Annotation | undefined} */ (undefined) };
    rows.push(row);
    if (region) {
      region.onChange = () => {
        row.regionDirty = true;
        regionNote.textContent = region.painted ? 'Region marked (saved with Present).' : 'No region.';
      };
    }
    drawButton.addEventListener('click', () => {
      setDrawing(drawButton.getAttribute('aria-pressed') === 'true' ? undefined : row);
    });
    markButton.addEventListener('click', () => {
      region?.markCentre();
      setDrawing(row);
    });
    clearButton.addEventListener('click', () => {
      region?.clear();
    });
    const reading = p.status === 'not-assessed' ? 'not assessed by this model' : `model: ${p.status}`;
    return h(
      'fieldset',
      { class: 'annotate__pattern', 'data-pattern': p.id },
      h('legend', {}, p.display, h('span', { class: 'annotate__model' }, ` (${reading})`)),
      h('div', { class: 'annotate__values' }, VALUES.map((v, k) => h('div', { class: 'choice' }, radios[k], h('label', { for: `${name}-${v.value}` }, v.label)))),
      region
        ? h('div', { class: 'annotate__region' }, drawButton, markButton, clearButton, regionNote)
        : null,
    );
  });
  const save = h('button', { type: 'submit', class: 'button button--primary' }, 'Save annotations');
  const patternsBox = h(
    'fieldset',
    { class: 'annotate__patterns', disabled: !user && (!remembered || !directory.annotators.some((a) => a.id === remembered)) },
    h('legend', { class: 'visually-hidden' }, 'Patterns'),
    h('p', { class: 'hint' }, 'A region is drawn with the pointer while "Draw region" is on; from the keyboard, "Mark whole lesion area" marks an ellipse over the centre of the image. It is saved with Present only.'),
    patternSets,
    h('div', { class: 'form-actions' }, save),
  );
  const form = h('form', { class: 'annotate__form', novalidate: true }, who, patternsBox);

  const annotator = () => (user ? user.id : (whoRadios.find((r) => r.checked)?.value ?? ''));
  /** Fills the radios and regions with the chosen annotator's saved answers. */
  const showSaved = () => {
    const id = annotator();
    patternsBox.disabled = id === '';
    setDrawing(undefined);
    for (const row of rows) {
      row.saved = ctx.annotations.find((a) => a.image === opts.image && a.pattern === row.pattern.id && a.annotator.id === id);
      for (const r of row.radios) {
        r.checked = row.saved?.value === r.value;
      }
      const region = row.region;
      if (region) {
        void region.load(row.saved?.region?.png).then(() => {
          row.regionDirty = false;
          row.regionNote.textContent = region.painted ? 'Region saved.' : 'No region.';
        });
      }
    }
  };
  for (const r of whoRadios) {
    r.addEventListener('change', () => {
      rememberAnnotator(r.value);
      say(live, '');
      showSaved();
    });
  }
  showSaved();

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void submit();
  });
  let busy = false;
  const submit = async () => {
    if (busy) {
      return;
    }
    const id = annotator();
    if (!id) {
      say(live, 'Choose who is annotating first.', 'error');
      return;
    }
    const changed = rows.flatMap((row) => {
      const value = /** @type {AnnotationValue | undefined} */ (row.radios.find((r) => r.checked)?.value);
      return value && (value !== row.saved?.value || row.regionDirty) ? [{ row, value }] : [];
    });
    if (changed.length === 0) {
      say(live, 'Nothing to save: no answer changed.');
      return;
    }
    busy = true;
    save.setAttribute('aria-disabled', 'true');
    say(live, `Saving ${changed.length} annotation${changed.length === 1 ? '' : 's'}…`, 'busy');
    let done = 0;
    try {
      for (const { row, value } of changed) {
        const region = value === 'present' && row.region?.painted ? row.region.canvas.toDataURL('image/png') : undefined;
        const answer = /** @type {{ annotation: Annotation }} */ (
          await postJson('/annotations', { report: opts.reportId, image: opts.image, pattern: row.pattern.id, value, ...(region ? { region } : {}) }, user ? bearer(user) : { [header]: id })
        );
        ctx.annotations = [...ctx.annotations.filter((a) => a.id !== answer.annotation.id), answer.annotation];
        row.saved = answer.annotation;
        row.regionDirty = false;
        done++;
      }
      say(live, `Saved ${done} annotation${done === 1 ? '' : 's'}.`);
    } catch (err) {
      const why = explainRefusal(err, user);
      say(live, done ? `Saved ${done}, then: ${why}` : why, 'error');
    } finally {
      busy = false;
      save.removeAttribute('aria-disabled');
    }
  };
  return [form];
}
