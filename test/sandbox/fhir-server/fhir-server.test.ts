import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Binary, Bundle, CapabilityStatement, DiagnosticReport, Media, OperationOutcome, Patient, Resource, ServiceRequest } from 'fhir/r4';
import { startFhirServerProcess } from '../../support/fhir-process.ts';
import type { FhirServerProcess } from '../../support/fhir-process.ts';

const FHIR_JSON = 'application/fhir+json';

let server: FhirServerProcess;

before(async () => {
  server = await startFhirServerProcess();
});

after(async () => {
  await server.stop();
});

interface FhirReply<T> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

async function fhir<T extends Resource>(method: string, path: string, body?: unknown, contentType = FHIR_JSON): Promise<FhirReply<T>> {
  const res = await fetch(`${server.baseUrl}/${path}`, {
    method,
    headers: { accept: FHIR_JSON, ...(body === undefined ? {} : { 'content-type': contentType }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  assert.match(res.headers.get('content-type') ?? '', /^application\/fhir\+json/, `${method} ${path}: content type`);
  return { status: res.status, headers: res.headers, body: (await res.json()) as T };
}

async function create<T extends Resource>(resource: T): Promise<T & { id: string }> {
  const reply = await fhir<T>('POST', resource.resourceType, resource);
  assert.equal(reply.status, 201, `create ${resource.resourceType}: ${JSON.stringify(reply.body)}`);
  const id = reply.body.id;
  assert.ok(id, 'created resource has an id');
  return { ...reply.body, id };
}

function entryIds(bundle: Bundle): string[] {
  return (bundle.entry ?? []).map((e) => e.resource?.id ?? '').sort();
}

function assertOutcome(body: Resource, severity: 'error' | 'fatal' = 'error'): asserts body is OperationOutcome {
  assert.equal(body.resourceType, 'OperationOutcome');
  assert.ok((body as OperationOutcome).issue.some((i) => i.severity === severity), JSON.stringify(body));
}

describe('FHIR server process (Medplum FhirRouter)', () => {
  it('serves a CapabilityStatement at /metadata', async () => {
    const { status, body } = await fhir<CapabilityStatement>('GET', 'metadata');
    assert.equal(status, 200);
    assert.equal(body.resourceType, 'CapabilityStatement');
    assert.equal(body.fhirVersion, '4.0.1');
    const media = body.rest?.[0]?.resource?.find((r) => r.type === 'Media');
    assert.ok(media?.searchParam?.some((p) => p.name === 'based-on'), 'Media advertises based-on');
  });

  it('creates a Patient with a Location, reads it back and finds it by name', async () => {
    const family = `Tester${randomUUID().slice(0, 8)}`;
    const reply = await fhir<Patient>('POST', 'Patient', { resourceType: 'Patient', name: [{ family, given: ['Ann'] }], birthDate: '1950-02-03' });
    assert.equal(reply.status, 201);
    const id = reply.body.id;
    assert.ok(id);
    assert.equal(reply.headers.get('location'), `${server.baseUrl}/Patient/${id}/_history/${reply.body.meta?.versionId}`);

    const read = await fhir<Patient>('GET', `Patient/${id}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.name?.[0]?.family, family);
    assert.equal(read.body.birthDate, '1950-02-03');
    assert.equal(read.headers.get('etag'), `W/"${reply.body.meta?.versionId}"`);

    const search = await fhir<Bundle>('GET', `Patient?name=${family}`);
    assert.equal(search.status, 200);
    assert.equal(search.body.type, 'searchset');
    assert.deepEqual(entryIds(search.body), [id]);
    assert.equal(search.body.entry?.[0]?.fullUrl, `${server.baseUrl}/Patient/${id}`);

    const none = await fhir<Bundle>('GET', `Patient?name=${family}x`);
    assert.deepEqual(entryIds(none.body), []);
  });

  it('updates, vreads, lists history newest first and deletes', async () => {
    const patient = await create<Patient>({ resourceType: 'Patient', active: false });
    const v1 = patient.meta?.versionId;
    const updated = await fhir<Patient>('PUT', `Patient/${patient.id}`, { ...patient, active: true });
    assert.equal(updated.status, 200);
    assert.equal(updated.body.active, true);
    const v2 = updated.body.meta?.versionId;
    assert.ok(v1 && v2 && v1 !== v2);

    const old = await fhir<Patient>('GET', `Patient/${patient.id}/_history/${v1}`);
    assert.equal(old.body.active, false);
    for (let i = 0; i < 2; i++) {
      // Twice: the underlying MemoryRepository flips its history order on every call.
      const history = await fhir<Bundle>('GET', `Patient/${patient.id}/_history`);
      assert.equal(history.body.type, 'history');
      assert.deepEqual((history.body.entry ?? []).map((e) => e.resource?.meta?.versionId), [v2, v1]);
    }

    const deleted = await fhir<OperationOutcome>('DELETE', `Patient/${patient.id}`);
    assert.equal(deleted.status, 200);
    const gone = await fhir<OperationOutcome>('GET', `Patient/${patient.id}`);
    assert.equal(gone.status, 404);
    assertOutcome(gone.body);
  });

  it('finds Media by based-on ServiceRequest and by patient', async () => {
    const patient = await create<Patient>({ resourceType: 'Patient', name: [{ family: 'MediaOwner' }] });
    const other = await create<Patient>({ resourceType: 'Patient', name: [{ family: 'Other' }] });
    const order = await create<ServiceRequest>({ resourceType: 'ServiceRequest', status: 'active', intent: 'order', subject: { reference: `Patient/${patient.id}` } });
    const media = (subject: string, basedOn: string): Media => ({
      resourceType: 'Media',
      status: 'completed',
      basedOn: [{ reference: basedOn }],
      subject: { reference: subject },
      content: { contentType: 'image/jpeg', data: Buffer.from([0xff, 0xd8, 0xff, 0xe0]).toString('base64') },
    });
    const m1 = await create(media(`Patient/${patient.id}`, `ServiceRequest/${order.id}`));
    const m2 = await create(media(`Patient/${patient.id}`, `ServiceRequest/${order.id}`));
    await create(media(`Patient/${other.id}`, `ServiceRequest/${randomUUID()}`));

    const byOrder = await fhir<Bundle>('GET', `Media?based-on=ServiceRequest/${order.id}`);
    assert.equal(byOrder.status, 200);
    assert.deepEqual(entryIds(byOrder.body), [m1.id, m2.id].sort());

    const byPatient = await fhir<Bundle>('GET', `Media?patient=Patient/${patient.id}&_count=50`);
    assert.equal(byPatient.status, 200);
    assert.deepEqual(entryIds(byPatient.body), [m1.id, m2.id].sort());

    const viaPost = await fhir<Bundle>('POST', 'Media/_search', `based-on=ServiceRequest/${order.id}`, 'application/x-www-form-urlencoded');
    assert.deepEqual(entryIds(viaPost.body), [m1.id, m2.id].sort());
  });

  it('resolves urn:uuid references in a transaction', async () => {
    const obsUrn = `urn:uuid:${randomUUID()}`;
    const reply = await fhir<Bundle>('POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: `urn:uuid:${randomUUID()}`,
          resource: { resourceType: 'DiagnosticReport', status: 'final', code: { text: 'BCC triage' }, result: [{ reference: obsUrn }] },
          request: { method: 'POST', url: 'DiagnosticReport' },
        },
        {
          fullUrl: obsUrn,
          resource: { resourceType: 'Observation', status: 'final', code: { text: 'BCC probability' }, valueQuantity: { value: 0.82 } },
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(reply.body.type, 'transaction-response');
    const [reportEntry, obsEntry] = reply.body.entry ?? [];
    assert.equal(reportEntry?.response?.status, '201');
    const obsId = obsEntry?.resource?.id;
    const reportId = reportEntry.resource?.id;
    assert.ok(obsId && reportId);

    const report = await fhir<DiagnosticReport>('GET', `DiagnosticReport/${reportId}`);
    assert.equal(report.body.result?.[0]?.reference, `Observation/${obsId}`);
    const obs = await fhir<Resource>('GET', `Observation/${obsId}`);
    assert.equal(obs.status, 200);
  });

  it('round-trips a Binary as FHIR JSON and as raw bytes', async () => {
    // PNG signature plus bytes that are not valid UTF-8, so a text round trip would corrupt them.
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe, 0x80]);
    const binary = await create<Binary>({ resourceType: 'Binary', contentType: 'image/png', data: bytes.toString('base64') });

    const asJson = await fhir<Binary>('GET', `Binary/${binary.id}`);
    assert.equal(asJson.body.resourceType, 'Binary');
    assert.equal(asJson.body.contentType, 'image/png');
    assert.equal(asJson.body.data, bytes.toString('base64'));

    for (const accept of ['*/*', 'image/png']) {
      const raw = await fetch(`${server.baseUrl}/Binary/${binary.id}`, { headers: { accept } });
      assert.equal(raw.status, 200);
      assert.equal(raw.headers.get('content-type'), 'image/png');
      assert.deepEqual(Buffer.from(await raw.arrayBuffer()), bytes);
    }
  });

  it('reads the current version of a Binary after an update, and nothing after a delete', async () => {
    const first = Buffer.from([0xff, 0xd8, 0x01]);
    const second = Buffer.from([0xff, 0xd8, 0x02, 0x03]);
    const binary = await create<Binary>({ resourceType: 'Binary', contentType: 'image/jpeg', data: first.toString('base64') });
    const updated = await fhir<Binary>('PUT', `Binary/${binary.id}`, { resourceType: 'Binary', id: binary.id, contentType: 'image/jpeg', data: second.toString('base64') });
    assert.equal(updated.status, 200);

    const asJson = await fhir<Binary>('GET', `Binary/${binary.id}`);
    assert.equal(asJson.body.data, second.toString('base64'));
    assert.equal(asJson.body.meta?.versionId, updated.body.meta?.versionId);
    const raw = await fetch(`${server.baseUrl}/Binary/${binary.id}`, { headers: { accept: 'image/*' } });
    assert.deepEqual(Buffer.from(await raw.arrayBuffer()), second);

    assert.equal((await fhir<OperationOutcome>('DELETE', `Binary/${binary.id}`)).status, 200);
    const gone = await fhir<OperationOutcome>('GET', `Binary/${binary.id}`);
    assert.ok(gone.status === 404 || gone.status === 410, `read after delete: ${gone.status}`);
  });

  it('negotiates a Binary read with q-values: the bytes when preferred, JSON when preferred', async () => {
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x01]);
    const binary = await create<Binary>({ resourceType: 'Binary', contentType: 'image/png', data: bytes.toString('base64') });
    const read = (accept: string): Promise<Response> => fetch(`${server.baseUrl}/Binary/${binary.id}`, { headers: { accept } });

    // What the service's gateway sends (src/fhir/fhir-gateway.ts ATTACHMENT_ACCEPT).
    const preferBytes = await read('image/*, application/fhir+json;q=0.9, */*;q=0.1');
    assert.equal(preferBytes.headers.get('content-type'), 'image/png');
    assert.deepEqual(Buffer.from(await preferBytes.arrayBuffer()), bytes);

    const preferJson = await read('application/fhir+json, image/*;q=0.5');
    assert.match(preferJson.headers.get('content-type') ?? '', /json/);
    assert.equal(((await preferJson.json()) as Binary).data, bytes.toString('base64'));
  });

  it('creates a Binary from raw bytes', async () => {
    const bytes = Buffer.from([0xff, 0xd8, 0xff, 0xdb, 0x00, 0x43]);
    const res = await fetch(`${server.baseUrl}/Binary`, { method: 'POST', headers: { 'content-type': 'image/jpeg', accept: FHIR_JSON }, body: bytes });
    assert.equal(res.status, 201);
    const created = (await res.json()) as Binary;
    assert.equal(created.contentType, 'image/jpeg');
    assert.equal(created.data, bytes.toString('base64'));
  });

  it('rejects an invalid resource with 400 and an OperationOutcome', async () => {
    const invalid = await fhir<OperationOutcome>('POST', 'Patient', { resourceType: 'Patient', gender: 'sometimes', notAField: true });
    assert.equal(invalid.status, 400);
    assertOutcome(invalid.body);

    const wrongType = await fhir<OperationOutcome>('POST', 'Patient', { resourceType: 'Observation', status: 'final', code: { text: 'x' } });
    assert.equal(wrongType.status, 400);
    assertOutcome(wrongType.body);

    const malformed = await fhir<OperationOutcome>('POST', 'Patient', '{"resourceType": "Patient",');
    assert.equal(malformed.status, 400);
    assertOutcome(malformed.body);

    const search = await fhir<Bundle>('GET', `Patient?gender=sometimes`);
    assert.deepEqual(entryIds(search.body), [], 'nothing invalid was stored');
  });

  it('answers unknown types, ids and search parameters with OperationOutcomes', async () => {
    const unknownType = await fhir<OperationOutcome>('GET', 'NotAResource?name=x');
    assert.equal(unknownType.status, 404);
    assertOutcome(unknownType.body);
    const unknownId = await fhir<OperationOutcome>('GET', `Patient/${randomUUID()}`);
    assert.equal(unknownId.status, 404);
    assertOutcome(unknownId.body);
    // A typo must not look like "no matches".
    const unknownParam = await fhir<OperationOutcome>('GET', 'Media?basedon=ServiceRequest/1');
    assert.equal(unknownParam.status, 400);
    assertOutcome(unknownParam.body);
  });
});
