/**
 * npm run demo -- [image...] [--service http://localhost:3000]
 * Against a running sandbox (npm start): creates a patient, a dermatology referral and one Media per
 * image in the embedded FHIR server, fires order-sign as an EHR would, and prints the cards.
 * Without images it draws a synthetic lesion (the shared research images never leave ../shared).
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { telangiectaticLesionJpeg } from '../../sandbox/synthetic-lesion.ts';
import { mapConcurrent } from '../../common/map-concurrent.ts';

/** Image files read at once: all end up in one referral, but N paths need not mean N open files. */
const READ_CONCURRENCY = 8;


async function fhir<T>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}/${path}`, {
    method,
    headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const json = (await res.json()) as T;
  if (!res.ok) {
    throw new Error(`${method} ${path}: HTTP ${res.status} ${JSON.stringify(json)}`);
  }
  return json;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { service: { type: 'string', default: process.env.BCC_CDS_URL ?? 'http://localhost:3000' } } });
  const service = values.service.replace(/\/+$/, '');
  const fhirBase = `${service}/fhir`;
  const images = positionals.length
    ? await mapConcurrent(positionals, READ_CONCURRENCY, async (p) => ({ name: basename(p), bytes: await readFile(p) }))
    : [{ name: 'synthetic-lesion.jpg', bytes: await telangiectaticLesionJpeg() }];

  const patient = await fhir<{ id: string }>(fhirBase, 'POST', 'Patient', { resourceType: 'Patient', name: [{ family: 'Demo', given: ['Alex'] }], birthDate: '1950-04-02' });
  const referral = await fhir<{ id: string }>(fhirBase, 'POST', 'ServiceRequest', {
    resourceType: 'ServiceRequest',
    status: 'draft',
    intent: 'order',
    priority: 'routine',
    code: { coding: [{ system: 'http://snomed.info/sct', code: '308472003', display: 'Referral to dermatologist' }] },
    performerType: { coding: [{ system: 'http://snomed.info/sct', code: '394582007', display: 'Dermatology' }] },
    subject: { reference: `Patient/${patient.id}` },
    reasonCode: [{ text: 'Pearly papule on the nose, slowly growing' }],
  });
  for (const img of images) {
    const meta = await sharp(img.bytes).metadata();
    await fhir(fhirBase, 'POST', 'Media', {
      resourceType: 'Media',
      status: 'completed',
      basedOn: [{ reference: `ServiceRequest/${referral.id}` }],
      subject: { reference: `Patient/${patient.id}` },
      modality: { text: 'Dermoscopy' },
      content: { contentType: `image/${meta.format === 'jpeg' ? 'jpeg' : meta.format}`, data: img.bytes.toString('base64'), title: img.name },
    });
  }
  const sr = await fhir<Record<string, unknown>>(fhirBase, 'GET', `ServiceRequest/${referral.id}`);
  const hook = {
    hook: 'order-sign',
    hookInstance: randomUUID(),
    fhirServer: fhirBase,
    context: { userId: 'Practitioner/demo', patientId: patient.id, draftOrders: { resourceType: 'Bundle', entry: [{ resource: sr }] } },
  };
  const res = await fetch(`${service}/cds-services/bcc-triage-order-sign`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(hook) });
  const out = (await res.json()) as { cards?: { summary: string; indicator: string; detail?: string }[] };
  process.stdout.write(`order-sign -> HTTP ${res.status}\n`);
  for (const c of out.cards ?? []) {
    process.stdout.write(`\n[${c.indicator}] ${c.summary}\n\n${c.detail ?? ''}\n`);
  }
  if (!res.ok) {
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n(is the service running? npm start)\n`);
  process.exitCode = 2;
});
