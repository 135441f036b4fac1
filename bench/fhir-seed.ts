/** Seeds the FHIR server process over HTTP: what an EHR holds before a clinician signs a referral. */
import type { Binary, Media, Patient, Resource, ServiceRequest } from 'fhir/r4';

const FHIR_JSON = 'application/fhir+json';
const SNOMED = 'http://snomed.info/sct';

async function create<T extends Resource>(baseUrl: string, resource: T): Promise<T & { id: string }> {
  const res = await fetch(`${baseUrl}/${resource.resourceType}`, {
    method: 'POST',
    headers: { accept: FHIR_JSON, 'content-type': FHIR_JSON },
    body: JSON.stringify(resource),
  });
  const body = (await res.json()) as T;
  if (res.status !== 201 || !body.id) {
    throw new Error(`create ${resource.resourceType}: HTTP ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
  }
  return { ...body, id: body.id };
}

/** A JPEG stored as a Binary; Attachment.url `Binary/<id>` makes the service fetch its bytes. */
export async function createImageBinary(baseUrl: string, jpeg: Buffer): Promise<string> {
  const binary = await create<Binary>(baseUrl, { resourceType: 'Binary', contentType: 'image/jpeg', data: jpeg.toString('base64') });
  return `Binary/${binary.id}`;
}

export interface SeededReferral {
  readonly patientId: string;
  readonly referral: ServiceRequest & { id: string };
}

/**
 * A patient, a draft dermatology referral, and one Media per image `basedOn` it whose content is a
 * Binary on the server (no inline data): the hook must search for the Media and fetch every image.
 */
export async function seedReferral(baseUrl: string, jpegs: readonly Buffer[]): Promise<SeededReferral> {
  const patient = await create<Patient>(baseUrl, { resourceType: 'Patient', name: [{ family: 'Bench', given: ['Alex'] }], birthDate: '1950-01-01' });
  const referral = await create<ServiceRequest>(baseUrl, {
    resourceType: 'ServiceRequest',
    status: 'draft',
    intent: 'order',
    priority: 'routine',
    code: { coding: [{ system: SNOMED, code: '308472003', display: 'Referral to dermatologist' }] },
    performerType: { coding: [{ system: SNOMED, code: '394582007', display: 'Dermatology' }] },
    subject: { reference: `Patient/${patient.id}` },
    reasonCode: [{ text: 'Pearly papule, slowly growing' }],
  });
  for (const [k, jpeg] of jpegs.entries()) {
    const url = await createImageBinary(baseUrl, jpeg);
    await create<Media>(baseUrl, {
      resourceType: 'Media',
      status: 'completed',
      basedOn: [{ reference: `ServiceRequest/${referral.id}` }],
      subject: { reference: `Patient/${patient.id}` },
      modality: { text: 'Dermoscopy' },
      content: { contentType: 'image/jpeg', title: `Lesion ${k + 1}`, url, size: jpeg.length },
    });
  }
  return { patientId: patient.id, referral };
}

/** An order-sign request for the referral, with a fhirServer and token but no prefetch. */
export function orderSignBody(seeded: SeededReferral, fhirServer: string, hookInstance: string): Record<string, unknown> {
  return {
    hook: 'order-sign',
    hookInstance,
    fhirServer,
    fhirAuthorization: { access_token: 'bench-token', token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'bcc-cds' },
    context: {
      userId: 'Practitioner/bench',
      patientId: seeded.patientId,
      draftOrders: { resourceType: 'Bundle', type: 'collection', entry: [{ resource: seeded.referral }] },
    },
  };
}
