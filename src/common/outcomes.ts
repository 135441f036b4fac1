import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';

/**
 * OperationOutcome is the one error currency (after Medplum's core/src/common/outcomes.ts): pure code
 * throws an OperationOutcomeError, and the edges (HTTP, CLI) translate it once.
 */

export const ISSUE_CODES = [
  'invalid',
  'structure',
  'required',
  'value',
  'not-found',
  'not-supported',
  'too-costly',
  'processing',
  'business-rule',
  'exception',
  'timeout',
  'security',
  'forbidden',
  'conflict',
  'incomplete',
  'transient',
  'throttled',
] as const;
export type IssueCode = (typeof ISSUE_CODES)[number];

export class OperationOutcomeError extends Error {
  readonly outcome: OperationOutcome;

  constructor(outcome: OperationOutcome, cause?: unknown) {
    super(outcome.issue.map((i) => i.details?.text ?? i.diagnostics ?? i.code).join('; '), { cause });
    this.name = 'OperationOutcomeError';
    this.outcome = outcome;
  }
}

function outcome(severity: OperationOutcomeIssue['severity'], code: IssueCode, text: string, expression?: string): OperationOutcome {
  const issue: OperationOutcomeIssue = { severity, code, details: { text } };
  if (expression) {
    issue.expression = [expression];
  }
  return { resourceType: 'OperationOutcome', issue: [issue] };
}

/** Several problems at once (a schema, a CSV), each naming its element: all `error`, one issue code. */
export function manyIssues(code: IssueCode, problems: readonly { readonly text: string; readonly expression?: string }[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: problems.flatMap((p) => outcome('error', code, p.text, p.expression).issue) };
}

export function badRequest(text: string, expression?: string): OperationOutcome {
  return outcome('error', 'invalid', text, expression);
}

export function unprocessable(text: string, expression?: string): OperationOutcome {
  return outcome('error', 'processing', text, expression);
}

export function notSupported(text: string, expression?: string): OperationOutcome {
  return outcome('error', 'not-supported', text, expression);
}

/** Readable and valid, but refused by a rule of this service (the image gate). */
export function businessRule(text: string, expression?: string): OperationOutcome {
  return outcome('error', 'business-rule', text, expression);
}

export function tooCostly(text: string, expression?: string): OperationOutcome {
  return outcome('error', 'too-costly', text, expression);
}

/** Not now: the client should retry later (503; the error handler adds Retry-After). */
export function unavailable(text: string): OperationOutcome {
  return outcome('error', 'transient', text);
}

export function notFound(text: string, expression?: string): OperationOutcome {
  return outcome('error', 'not-found', text, expression);
}

/** 401: who is calling is not established. */
export function unauthenticated(text: string): OperationOutcome {
  return outcome('error', 'security', text);
}

/** 403: known, but not allowed. */
export function forbidden(text: string, expression?: string): OperationOutcome {
  return outcome('error', 'forbidden', text, expression);
}

/** 409: the request contradicts the current state (promoting the version that is already live). */
export function conflict(text: string, expression?: string): OperationOutcome {
  return outcome('error', 'conflict', text, expression);
}

/** 429: the client should slow down (the rate limiter sets Retry-After). */
export function throttled(text: string): OperationOutcome {
  return outcome('error', 'throttled', text);
}

/** 504: a deadline passed. */
export function timedOut(text: string): OperationOutcome {
  return outcome('error', 'timeout', text);
}

export function serverError(text: string): OperationOutcome {
  return outcome('error', 'exception', text);
}

/**
 * Marks a bad gateway. FHIR has no issue type for "the upstream server answered with something
 * unusable", so, as Medplum's outcomes do, the OperationOutcome's id carries it for getStatus.
 */
export const BAD_GATEWAY_ID = 'bad-gateway';

/**
 * The EHR's FHIR server answered, but not with anything the service can use (a 5xx, a body that is
 * not FHIR JSON, the wrong resource): 502, so the client sees that the fault is upstream, not ours.
 */
export function badGateway(text: string, expression?: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', id: BAD_GATEWAY_ID, issue: outcome('error', 'exception', text, expression).issue };
}

/** Marks a request part that is too large to accept (413), as BAD_GATEWAY_ID marks 502. */
export const PAYLOAD_TOO_LARGE_ID = 'payload-too-large';

/**
 * 413: one part of the request (an annotation's region mask) is larger than the service accepts.
 * `too-costly` alone maps to 422 (a valid request the service will not do); this is the body itself.
 */
export function payloadTooLarge(text: string, expression?: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', id: PAYLOAD_TOO_LARGE_ID, issue: outcome('error', 'too-costly', text, expression).issue };
}

/** Marks a body in a media type the endpoint does not read (415), as BAD_GATEWAY_ID marks 502. */
export const UNSUPPORTED_MEDIA_TYPE_ID = 'unsupported-media-type';

/** 415: a request body that is not JSON (the Content-Type says otherwise). */
export function unsupportedMediaType(text: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', id: UNSUPPORTED_MEDIA_TYPE_ID, issue: outcome('error', 'not-supported', text).issue };
}

/**
 * HTTP status for an outcome: 400 invalid/structure/required/value, 422 processing/business-rule/
 * not-supported/too-costly, 409 conflict, 413 too large and 415 not JSON (by id), 502 a bad gateway (by id), 503 transient, 504 timeout.
 */
export function getStatus(o: OperationOutcome): number {
  if (o.id === BAD_GATEWAY_ID) {
    return 502;
  }
  if (o.id === PAYLOAD_TOO_LARGE_ID) {
    return 413;
  }
  if (o.id === UNSUPPORTED_MEDIA_TYPE_ID) {
    return 415;
  }
  const code = o.issue[0]?.code;
  switch (code) {
    case 'invalid':
    case 'structure':
    case 'required':
    case 'value':
      return 400;
    case 'security':
      return 401;
    case 'forbidden':
      return 403;
    case 'not-found':
      return 404;
    case 'conflict':
      return 409;
    case 'processing':
    case 'business-rule':
    case 'not-supported':
    case 'too-costly':
      return 422;
    case 'timeout':
      return 504;
    case 'incomplete':
      return 412;
    case 'transient':
      return 503;
    case 'throttled':
      return 429;
    default:
      return 500;
  }
}

/** The message a person reads, with the element at fault when known. */
export function describeOutcome(o: OperationOutcome): string {
  return o.issue
    .map((i) => {
      const text = i.details?.text ?? i.diagnostics ?? i.code;
      return i.expression?.length ? `${i.expression.join(', ')}: ${text}` : text;
    })
    .join('; ');
}

/**
 * CDS Hooks 2.0 (https://cds-hooks.hl7.org/2.0/#prefetch-template): a service that cannot get the
 * data it needs (no usable prefetch and no FHIR server it may call) SHALL answer 412 Precondition
 * Failed. FHIR's issue type `incomplete` ("not all data sources ... could be reached") carries it;
 * getStatus maps `incomplete` to 412.
 */
export function preconditionFailed(text: string, expression?: string): OperationOutcome {
  return outcome('error', 'incomplete', text, expression);
}
