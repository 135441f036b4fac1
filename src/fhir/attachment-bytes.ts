import { OperationOutcomeError, preconditionFailed, tooCostly, unprocessable } from '../common/outcomes.ts';
import type { Attachment } from 'fhir/r4';
import { decodeBase64 } from './base64.ts';
import type { FhirGateway } from './fhir-gateway.ts';

/** An attachment and the element that holds it (`Media/123.content`), named in errors. */
export interface AttachmentSource {
  readonly attachment: Attachment;
  readonly where: string;
}

/**
 * The bytes of a referral image: inline `data` (base64) when present, else `url` through the FHIR
 * gateway, which keeps the token on the FHIR server and caps the size. Errors name the element.
 */
export async function attachmentBytes(img: AttachmentSource, gateway: FhirGateway | undefined, maxBytes: number): Promise<Buffer> {
  const { data, url, size } = img.attachment;
  // A declared size is a cheap early refusal; it is never trusted as the cap itself.
  if (typeof size === 'number' && size > maxBytes) {
    throw new OperationOutcomeError(tooCostly(`attachment declares ${size} bytes; the limit is ${maxBytes}`, `${img.where}.size`));
  }
  if (typeof data === 'string') {
    return decodeBase64(data, maxBytes, `${img.where}.data`);
  }
  if (typeof url === 'string' && url !== '') {
    if (!gateway) {
      // CDS Hooks 2.0: no FHIR server to fetch from means the service cannot get its data -> 412.
      throw new OperationOutcomeError(preconditionFailed('the image is stored by URL and the request gives no FHIR server to fetch it from', `${img.where}.url`));
    }
    try {
      return await gateway.fetchAttachment(url, maxBytes);
    } catch (err) {
      throw atElement(err, `${img.where}.url`);
    }
  }
  throw new OperationOutcomeError(unprocessable('attachment has neither data nor url', img.where));
}

/**
 * Names the element on an OperationOutcomeError that does not name one yet (the gateway knows URLs,
 * not which element held them). Other errors pass through unchanged.
 */
export function atElement(err: unknown, expression: string): unknown {
  if (!(err instanceof OperationOutcomeError)) {
    return err;
  }
  const issue = err.outcome.issue.map((i) => (i.expression?.length ? i : { ...i, expression: [expression] }));
  return new OperationOutcomeError({ ...err.outcome, issue }, err);
}
