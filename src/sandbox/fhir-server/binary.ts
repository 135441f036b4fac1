/**
 * The raw side of Binary, which FhirRouter only speaks as FHIR JSON: reading a Binary back as its own
 * bytes and content type (how image viewers and `<img src>` fetch it), and creating one from raw bytes.
 */
import type { Request, Response } from 'express';
import type { Binary, Resource } from '@medplum/fhirtypes';

const FHIR_JSON_ACCEPT = /application\/(fhir\+)?json|\bjson\b/i;

/** `[base]/Binary` or `[base]/Binary/<id>`, relative to the mount point. */
const BINARY_PATH = /^\/Binary(\/[^/]+)?\/?$/;

export function isBinary(resource: Resource): resource is Binary {
  return resource.resourceType === 'Binary';
}

/**
 * FHIR read of a Binary returns the raw content unless the client asks for a FHIR format
 * (http://hl7.org/fhir/R4/binary.html#rest): `Accept: application/fhir+json`/`application/json`
 * or `_format=json` give the resource; `*\/*`, the content type itself, or no Accept give the bytes.
 * Accept is negotiated with its q-values (RFC 9110 section 12.5.1): `image/*, application/fhir+json;q=0.9`
 * (what the service's gateway sends) prefers the bytes.
 */
export function wantsRawBinary(req: Request, contentType?: string): boolean {
  const format = req.query._format;
  if (typeof format === 'string') {
    return !FHIR_JSON_ACCEPT.test(format);
  }
  const own = contentType || 'application/octet-stream';
  const best = req.accepts([own, 'application/fhir+json', 'application/json']);
  // Nothing acceptable: the bytes, as before (the client named some other content type).
  return best === false || best === own;
}

export function sendRawBinary(res: Response, binary: Binary, status: number): void {
  const bytes = Buffer.from(binary.data ?? '', 'base64');
  res.status(status).set('Content-Type', binary.contentType || 'application/octet-stream').send(bytes);
}

/** For express.raw's `type`: raw bytes only for Binary writes that are not FHIR JSON or a form. */
export function isRawBinaryUpload(req: Request): boolean {
  if ((req.method !== 'POST' && req.method !== 'PUT') || !BINARY_PATH.test(req.path)) {
    return false;
  }
  return !req.is(['application/json', 'application/*+json', 'application/x-www-form-urlencoded']);
}

/** Wraps an uploaded body as the Binary it stands for (`id` from the URL on update). */
export function binaryFromUpload(bytes: Buffer, contentType: string | undefined, id: string | undefined): Binary {
  return {
    resourceType: 'Binary',
    ...(id ? { id } : {}),
    contentType: contentType || 'application/octet-stream',
    data: bytes.toString('base64'),
  };
}
