// @ts-check
/**
 * The sandbox page plays the EHR: it writes a patient, a draft dermatology referral and its
 * dermoscopic images (Media basedOn the referral) to the embedded FHIR server, fires order-sign as
 * an EHR does when the referral is signed, and shows the cards and the triage queue.
 */
import { renderCard } from './cards.js';
import { byId, h, say } from './dom.js';
import { FHIR_BASE, fetchJson, fhir, postJson } from './fhir.js';
import { describePage, queryOf, refreshQueue } from './queue.js';

const SNOMED = 'http://snomed.info/sct';
const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/tiff'];

/** @type {{ patientId?: string, referralId?: string, images: number }} */
const state = { images: 0 };

const referralForm = byId('referral-form', HTMLFormElement);
const referralStatus = byId('referral-status', HTMLElement);
const imagesFieldset = byId('images-fieldset', HTMLFieldSetElement);
const fileInput = byId('file-input', HTMLInputElement);
const dropZone = byId('drop-zone', HTMLElement);
const bodySite = byId('body-site', HTMLInputElement);
const imageList = byId('image-list', HTMLUListElement);
const imagesStatus = byId('images-status', HTMLElement);
const signButton = byId('sign-button', HTMLButtonElement);
const signStatus = byId('sign-status', HTMLElement);
const cardsEl = byId('cards', HTMLElement);
const queueBody = byId('queue-body', HTMLTableSectionElement);
const queueButton = byId('queue-refresh', HTMLButtonElement);
const queueStatus = byId('queue-status', HTMLElement);
const queueFilters = byId('queue-filters', HTMLFormElement);
const queuePrevious = byId('queue-previous', HTMLButtonElement);
const queueNext = byId('queue-next', HTMLButtonElement);
const queuePageLabel = byId('queue-page', HTMLElement);
/** The queue page shown; a filter or sort change goes back to page 1. */
let queuePage = 1;

/** @param {unknown} err */
const message = (err) => (err instanceof Error ? err.message : String(err));

function updateControls() {
  imagesFieldset.disabled = !state.referralId;
  signButton.disabled = !state.referralId;
}

referralForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const data = new FormData(referralForm);
  const text = (/** @type {string} */ name) => {
    const value = data.get(name);
    return typeof value === 'string' ? value.trim() : '';
  };
  const submit = referralForm.querySelector('button[type=submit]');
  if (submit instanceof HTMLButtonElement) {
    submit.disabled = true;
  }
  say(referralStatus, 'Creating the patient and the referral…', 'busy');
  try {
    const patient = await fhir('POST', 'Patient', {
      resourceType: 'Patient',
      name: [{ family: text('family') || 'Demo', given: [text('given') || 'Alex'] }],
      ...(text('birthDate') ? { birthDate: text('birthDate') } : {}),
    });
    const referral = await fhir('POST', 'ServiceRequest', {
      resourceType: 'ServiceRequest',
      status: 'draft',
      intent: 'order',
      priority: text('priority') || 'routine',
      code: { coding: [{ system: SNOMED, code: '308472003', display: 'Referral to dermatologist' }] },
      performerType: { coding: [{ system: SNOMED, code: '394582007', display: 'Dermatology' }] },
      subject: { reference: `Patient/${String(patient.id)}` },
      ...(text('reason') ? { reasonCode: [{ text: text('reason') }] } : {}),
    });
    state.patientId = patient.id;
    state.referralId = referral.id;
    state.images = 0;
    imageList.replaceChildren();
    cardsEl.replaceChildren(h('p', { class: 'empty' }, 'No cards yet: add images and sign the referral.'));
    say(referralStatus, `Created Patient/${String(patient.id)} and draft referral ServiceRequest/${String(referral.id)}. Now add dermoscopic images.`);
    say(imagesStatus, '');
    say(signStatus, '');
    updateControls();
  } catch (err) {
    say(referralStatus, `Could not create the referral: ${message(err)}`, 'error');
  } finally {
    if (submit instanceof HTMLButtonElement) {
      submit.disabled = false;
    }
  }
});

/**
 * @param {File} file
 * @returns {Promise<string>} the file's bytes, base64
 */
function readBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.addEventListener('load', () => { resolve((typeof reader.result === 'string' ? reader.result : '').replace(/^data:[^,]*,/, '')); });
    reader.addEventListener('error', () => { reject(reader.error ?? new Error(`cannot read ${file.name}`)); });
    reader.readAsDataURL(file);
  });
}

/** @param {File} file */
function contentTypeOf(file) {
  if (IMAGE_TYPES.includes(file.type)) {
    return file.type;
  }
  const ext = file.name.toLowerCase().split('.').pop();
  return ext === 'png' ? 'image/png' : ext === 'webp' ? 'image/webp' : ext === 'tif' || ext === 'tiff' ? 'image/tiff' : 'image/jpeg';
}

/** @param {readonly File[]} files */
async function addImages(files) {
  if (!state.referralId || !state.patientId) {
    say(imagesStatus, 'Create the referral first.', 'error');
    return;
  }
  const images = files.filter((f) => f.type === '' || f.type.startsWith('image/'));
  if (images.length === 0) {
    say(imagesStatus, 'Those files are not images (JPEG, PNG, WebP or TIFF).', 'error');
    return;
  }
  say(imagesStatus, `Uploading ${images.length} image${images.length === 1 ? '' : 's'}…`, 'busy');
  const site = bodySite.value.trim();
  try {
    for (const file of images) {
      const media = await fhir('POST', 'Media', {
        resourceType: 'Media',
        status: 'completed',
        basedOn: [{ reference: `ServiceRequest/${state.referralId}` }],
        subject: { reference: `Patient/${state.patientId}` },
        modality: { text: 'Dermoscopy' },
        ...(site ? { bodySite: { text: site } } : {}),
        content: { contentType: contentTypeOf(file), data: await readBase64(file), title: file.name },
      });
      state.images += 1;
      const url = URL.createObjectURL(file);
      imageList.append(
        h('li', { class: 'thumb' }, h('img', { src: url, alt: `Dermoscopic image ${file.name}`, width: 96, height: 72 }), h('span', {}, file.name), h('code', {}, `Media/${String(media.id)}`)),
      );
    }
    say(imagesStatus, `${state.images} image${state.images === 1 ? '' : 's'} attached to ServiceRequest/${state.referralId}.`);
  } catch (err) {
    say(imagesStatus, `Could not store the image: ${message(err)}`, 'error');
  }
}

fileInput.addEventListener('change', () => {
  void addImages([...(fileInput.files ?? [])]).finally(() => {
    fileInput.value = '';
  });
});
for (const type of ['dragenter', 'dragover']) {
  dropZone.addEventListener(type, (event) => {
    event.preventDefault();
    if (!imagesFieldset.disabled) {
      dropZone.classList.add('drop-zone--over');
    }
  });
}
for (const type of ['dragleave', 'drop']) {
  dropZone.addEventListener(type, () => { dropZone.classList.remove('drop-zone--over'); });
}
dropZone.addEventListener('drop', (event) => {
  event.preventDefault();
  if (!imagesFieldset.disabled) {
    void addImages([...(event instanceof DragEvent ? (event.dataTransfer?.files ?? []) : [])]);
  }
});

/**
 * The order-sign service from discovery (the page does not hard-code the id).
 * @returns {Promise<string>}
 */
async function orderSignServiceId() {
  const discovery = /** @type {{ services?: { hook: string, id: string }[] }} */ (await fetchJson('/cds-services'));
  const service = discovery.services?.find((s) => s.hook === 'order-sign');
  if (!service) {
    throw new Error('the service offers no order-sign hook');
  }
  return service.id;
}

/**
 * When the service checks CDS client JWTs, the sandbox signs one for the page; otherwise it
 * answers `{}` and the hook goes without Authorization.
 * @param {string} audience
 * @returns {Promise<Record<string, string>>}
 */
async function authorization(audience) {
  const body = /** @type {{ token?: string }} */ (await postJson('/sandbox/api/hook-token', { audience }));
  return body.token ? { authorization: `Bearer ${body.token}` } : {};
}

signButton.addEventListener('click', async () => {
  if (!state.referralId || !state.patientId) {
    return;
  }
  signButton.disabled = true;
  say(signStatus, 'Signing: the CDS service is assessing the images…', 'busy');
  cardsEl.setAttribute('aria-busy', 'true');
  try {
    const serviceId = await orderSignServiceId();
    const referral = await fhir('GET', `ServiceRequest/${state.referralId}`);
    const hookUrl = `${location.origin}/cds-services/${encodeURIComponent(serviceId)}`;
    const request = {
      hook: 'order-sign',
      hookInstance: crypto.randomUUID(),
      fhirServer: FHIR_BASE,
      context: {
        userId: 'Practitioner/sandbox-referrer',
        patientId: state.patientId,
        draftOrders: { resourceType: 'Bundle', type: 'collection', entry: [{ resource: referral }] },
      },
    };
    const response = /** @type {{ cards?: import('./cards.js').Card[] }} */ (await postJson(hookUrl, request, await authorization(hookUrl)));
    const cards = response.cards ?? [];
    cardsEl.replaceChildren(
      ...(cards.length
        ? cards.map((c) => renderCard(c, { serviceId, patientId: state.patientId, onApplied: () => void showQueue(), onDecided: () => void showQueue() }))
        : [h('p', { class: 'empty' }, 'The service returned no cards for this referral.')]),
    );
    say(signStatus, `Signed. The service returned ${cards.length} card${cards.length === 1 ? '' : 's'}.`);
    await showQueue();
  } catch (err) {
    say(signStatus, `Signing failed: ${message(err)}`, 'error');
  } finally {
    cardsEl.removeAttribute('aria-busy');
    signButton.disabled = !state.referralId;
  }
});

async function showQueue() {
  const q = queryOf(queueFilters, queuePage);
  try {
    const page = await refreshQueue(queueBody, q);
    queuePage = Math.min(page.page, page.pages);
    queuePrevious.disabled = page.page <= 1;
    queueNext.disabled = page.page >= page.pages;
    queuePageLabel.textContent = `Page ${page.page} of ${page.pages}`;
    say(queueStatus, describePage(page, q));
  } catch (err) {
    say(queueStatus, `Could not load the queue: ${message(err)}`, 'error');
  }
}

queueButton.addEventListener('click', () => void showQueue());
queueFilters.addEventListener('change', () => {
  queuePage = 1;
  void showQueue();
});
queueFilters.addEventListener('submit', (event) => {
  event.preventDefault();
  queuePage = 1;
  void showQueue();
});
/**
 * A pager button that becomes disabled at the first or last page would drop the keyboard focus to
 * the page's start; focus moves to the other one instead.
 * @param {HTMLButtonElement} button
 * @param {HTMLButtonElement} other
 * @param {number} step
 */
function pageButton(button, other, step) {
  button.addEventListener('click', async () => {
    queuePage = Math.max(1, queuePage + step);
    await showQueue();
    if (button.disabled && !other.disabled) {
      other.focus();
    }
  });
}
pageButton(queuePrevious, queueNext, -1);
pageButton(queueNext, queuePrevious, 1);

/** The page header names the model that answers. */
async function showModel() {
  try {
    const m = /** @type {{ name?: string, version?: string }} */ (await fetchJson('/model-card'));
    byId('model-name', HTMLElement).textContent = `${m.name ?? '?'} ${m.version ?? ''}`.trim();
  } catch {
    // The header keeps its placeholder; nothing else depends on it.
  }
}

updateControls();
void showModel();
void showQueue();
