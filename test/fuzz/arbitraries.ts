/**
 * fast-check arbitraries for what a CDS client controls: hook bodies, the FHIR resources inside them
 * (draft orders, prefetch), image bytes, and Authorization headers. Shaped near the real thing so
 * the fuzz gets past the first validation, with junk mixed in at every level.
 */
import fc from 'fast-check';
import type { Arbitrary } from 'fast-check';

export const SNOMED = 'http://snomed.info/sct';
const short = fc.string({ maxLength: 24 });
const junk = fc.jsonValue({ maxDepth: 4 });

/**
 * URLs aimed where an attacker would aim them (loopback, link-local metadata, private ranges,
 * other schemes). Built by hand: url spends seconds building itself on first use.
 */
export const url: Arbitrary<string> = fc
  .tuple(
    fc.constantFrom('http', 'https', 'file', 'ftp', 'javascript', 'data'),
    fc.constantFrom('127.0.0.1', 'localhost', '169.254.169.254', '[::1]', '10.0.0.7', 'ehr.example.org', 'user:pw@ehr.example.org', '0x7f000001'),
    fc.option(fc.nat(65535), { nil: undefined }),
    fc.array(fc.oneof(fc.constantFrom('fhir', '..', '%2e%2e', '%2f', 'Binary', 'Media'), fc.string({ maxLength: 8 })), { maxLength: 4 }),
    fc.option(fc.string({ maxLength: 12 }), { nil: undefined }),
  )
  .map(([scheme, host, port, path, query]) => `${scheme}://${host}${port === undefined ? '' : `:${port}`}/${path.join('/')}${query === undefined ? '' : `?${query}`}`);

export const reference: Arbitrary<string> = fc.oneof(
  fc.constantFrom('Patient/p1', 'Patient/p2', 'ServiceRequest/sr1', 'Media/m0', 'Media/../../admin', 'urn:uuid:0d1e', 'http://169.254.169.254/latest/meta-data', '#contained', ''),
  short,
  url,
);

const coding = fc.record(
  {
    system: fc.oneof(fc.constant(SNOMED), short),
    code: fc.oneof(fc.constantFrom('308472003', '394582007', '306206005'), short),
    display: short,
  },
  { requiredKeys: [] },
);
const codeable = fc.oneof(fc.record({ coding: fc.array(coding, { maxLength: 3 }), text: short }, { requiredKeys: [] }), junk);
const ref = fc.oneof(fc.record({ reference, type: fc.constantFrom('Media', 'DocumentReference', 'Patient') }, { requiredKeys: [] }), junk);

export function attachment(imageData: Arbitrary<string>): Arbitrary<unknown> {
  return fc.oneof(
    fc.record(
      {
        contentType: fc.oneof(fc.constantFrom('image/jpeg', 'image/png', 'image/jpg', 'text/html', 'image/svg+xml', 'application/dicom'), short),
        data: fc.oneof(imageData, fc.base64String({ maxLength: 120 }), short, fc.constant('')),
        url: reference,
        size: fc.oneof(fc.integer(), fc.double(), fc.constant(10 ** 12)),
        title: short,
      },
      { requiredKeys: [] },
    ),
    junk,
  );
}

export function media(imageData: Arbitrary<string>): Arbitrary<unknown> {
  return fc.record(
    {
      resourceType: fc.constant('Media'),
      id: fc.oneof(fc.constantFrom('m0', 'm1'), short),
      status: fc.constantFrom('completed', 'entered-in-error', 'x'),
      basedOn: fc.oneof(fc.array(fc.oneof(fc.constant({ reference: 'ServiceRequest/sr1' }), ref), { maxLength: 3 }), junk),
      subject: fc.oneof(fc.constant({ reference: 'Patient/p1' }), ref),
      content: attachment(imageData),
      bodySite: codeable,
    },
    { requiredKeys: ['resourceType'] },
  );
}

function documentReference(imageData: Arbitrary<string>): Arbitrary<unknown> {
  return fc.record(
    {
      resourceType: fc.constant('DocumentReference'),
      id: short,
      status: fc.constantFrom('current', 'superseded'),
      subject: ref,
      content: fc.oneof(fc.array(fc.record({ attachment: attachment(imageData) }, { requiredKeys: [] }), { maxLength: 3 }), junk),
      context: fc.oneof(fc.record({ related: fc.array(ref, { maxLength: 2 }) }, { requiredKeys: [] }), junk),
    },
    { requiredKeys: ['resourceType'] },
  );
}

export const serviceRequest: Arbitrary<unknown> = fc.record(
  {
    resourceType: fc.constant('ServiceRequest'),
    id: fc.oneof(fc.constantFrom('sr1', 'sr2'), short),
    status: fc.constantFrom('draft', 'active', 'revoked', 'x'),
    intent: fc.constantFrom('order', 'plan', 'x'),
    code: fc.oneof(fc.constant({ coding: [{ system: SNOMED, code: '308472003' }] }), codeable),
    performerType: codeable,
    subject: fc.oneof(fc.constant({ reference: 'Patient/p1' }), ref),
    supportingInfo: fc.oneof(fc.array(ref, { maxLength: 4 }), junk),
    reasonCode: fc.array(codeable, { maxLength: 2 }),
  },
  { requiredKeys: ['resourceType'] },
);

export function resource(imageData: Arbitrary<string>): Arbitrary<unknown> {
  return fc.oneof(serviceRequest, media(imageData), documentReference(imageData), junk);
}

export function bundle(entryResource: Arbitrary<unknown>): Arbitrary<unknown> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.record(
      {
        resourceType: fc.constantFrom('Bundle', 'Bundle', 'OperationOutcome', 'Patient'),
        type: fc.constantFrom('collection', 'searchset', 'x'),
        total: fc.oneof(fc.nat(10), fc.double()),
        link: fc.array(fc.record({ relation: fc.constantFrom('self', 'next'), url: url }), { maxLength: 2 }),
        entry: fc.oneof(fc.array(fc.oneof(fc.record({ resource: entryResource, fullUrl: reference }, { requiredKeys: [] }), junk), { maxLength: 5 }), junk),
      },
      { requiredKeys: ['resourceType'] },
    ) },
    { weight: 1, arbitrary: junk },
  );
}

/** A hook body: mostly well-formed on the outside, hostile inside. */
export function hookBody(imageData: Arbitrary<string>): Arbitrary<unknown> {
  const res = resource(imageData);
  return fc.oneof(
    { weight: 1, arbitrary: junk },
    {
      weight: 6,
      arbitrary: fc.record(
        {
          hook: fc.oneof(fc.constantFrom('order-sign', 'order-sign', 'order-select', 'patient-view'), short),
          hookInstance: fc.oneof(fc.uuid(), short),
          fhirServer: fc.oneof(url, fc.constantFrom('http://127.0.0.1:1/fhir', 'http://169.254.169.254/', 'file:///etc/passwd', 'javascript:alert(1)'), short),
          fhirAuthorization: fc.oneof(fc.record({ access_token: short, token_type: short, expires_in: fc.integer(), scope: short }, { requiredKeys: [] }), fc.constant(null), junk),
          context: fc.oneof(
            fc.record(
              {
                userId: fc.oneof(fc.constant('Practitioner/1'), short),
                patientId: fc.oneof(fc.constantFrom('p1', 'p2'), short),
                draftOrders: bundle(fc.oneof({ weight: 3, arbitrary: serviceRequest }, { weight: 1, arbitrary: res })),
                selections: fc.array(reference, { maxLength: 3 }),
              },
              { requiredKeys: [] },
            ),
            junk,
          ),
          prefetch: fc.oneof(fc.dictionary(fc.constantFrom('images', 'patient', 'other'), fc.oneof(bundle(res), fc.constant(null), junk), { maxKeys: 3 }), fc.constant(null), junk),
        },
        { requiredKeys: ['hook', 'hookInstance', 'context'] },
      ),
    },
  );
}

/** Image-like bytes: noise, and real images cut, bit-flipped or spliced. */
export function imageBytes(seeds: readonly Buffer[]): Arbitrary<Buffer> {
  const seed = fc.constantFrom(...seeds);
  return fc.oneof(
    fc.uint8Array({ maxLength: 2048 }).map((a) => Buffer.from(a)),
    fc.tuple(seed, fc.double({ min: 0, max: 1, noNaN: true })).map(([b, f]) => b.subarray(0, Math.floor(b.length * f))),
    fc.tuple(seed, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 16 })).map(([b, flips]) => {
      const out = Buffer.from(b);
      for (const [i, v] of flips) {
        out[i % out.length] = v;
      }
      return out;
    }),
    // A real header with someone else's body, or the other way round.
    fc.tuple(seed, seed, fc.nat(400)).map(([a, b, n]) => Buffer.concat([a.subarray(0, n), b.subarray(n)])),
  );
}

/** Authorization header values, JWT-shaped or not. */
export const authorizationHeader: Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.tuple(fc.jsonValue({ maxDepth: 2 }), fc.jsonValue({ maxDepth: 2 }), fc.base64String({ maxLength: 100 })).map(
    ([h, p, s]) => `Bearer ${Buffer.from(JSON.stringify(h)).toString('base64url')}.${Buffer.from(JSON.stringify(p)).toString('base64url')}.${s.replace(/[+/=]/g, '')}`,
  ),
  fc
    .record({ alg: fc.constantFrom('ES384', 'RS384', 'none', 'HS384'), kid: short, jku: url, typ: fc.constantFrom('JWT', 'x') }, { requiredKeys: ['alg'] })
    .map((h) => `Bearer ${Buffer.from(JSON.stringify(h)).toString('base64url')}.${Buffer.from(JSON.stringify({ iss: 'https://ehr.example.org', aud: 'x' })).toString('base64url')}.c2ln`),
);
