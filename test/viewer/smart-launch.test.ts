import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { OperationOutcomeError, getStatus } from '../../src/common/outcomes.ts';
import {
  buildAuthorizeUrl,
  checkLaunchRequest,
  isPkceVerifier,
  launchCookieName,
  newRandomToken,
  parseSmartConfiguration,
  parseTokenResponse,
  pkceChallenge,
  sessionCookieName,
} from '../../src/viewer/smart-launch.ts';
import { formatViewerAppContext, parseViewerAppContext } from '../../src/viewer/viewer-app-context.ts';

const ALLOWED = ['https://ehr.example.org/fhir'];

function outcomeOf(fn: () => unknown): { status: number; text: string; expression: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof OperationOutcomeError, String(err));
    const issue = err.outcome.issue[0];
    return { status: getStatus(err.outcome), text: issue?.details?.text ?? '', expression: issue?.expression?.[0] ?? '' };
  }
  return assert.fail('no OperationOutcome thrown');
}

describe('SMART launch: the launch request', () => {
  it('accepts an allow-listed iss (trailing slash dropped) and an opaque launch id', () => {
    assert.deepEqual(checkLaunchRequest({ iss: 'https://ehr.example.org/fhir/', launch: 'abc-123' }, ALLOWED), { iss: 'https://ehr.example.org/fhir', launch: 'abc-123' });
    assert.deepEqual(checkLaunchRequest({ iss: 'https://ehr.example.org/fhir/tenant-1', launch: 'x' }, ALLOWED).iss, 'https://ehr.example.org/fhir/tenant-1');
  });

  it('refuses an iss not on the allow-list with a 400 naming iss', () => {
    for (const iss of ['https://evil.example.org/fhir', 'https://ehr.example.org/fhir-evil', 'https://ehr.example.org/admin', 'http://ehr.example.org/fhir', 'https://user:pw@ehr.example.org/fhir', 'https://ehr.example.org/fhir?x=1', 'javascript:alert(1)']) {
      const o = outcomeOf(() => checkLaunchRequest({ iss, launch: 'l' }, ALLOWED));
      assert.equal(o.status, 400, iss);
      assert.equal(o.expression, 'iss', iss);
      assert.match(o.text, /not a FHIR server this service trusts/);
    }
  });

  it('requires iss and launch as single strings', () => {
    assert.equal(outcomeOf(() => checkLaunchRequest({ launch: 'l' }, ALLOWED)).expression, 'iss');
    assert.equal(outcomeOf(() => checkLaunchRequest({ iss: ['https://ehr.example.org/fhir'], launch: 'l' }, ALLOWED)).expression, 'iss');
    assert.equal(outcomeOf(() => checkLaunchRequest({ iss: 'https://ehr.example.org/fhir' }, ALLOWED)).expression, 'launch');
    assert.equal(outcomeOf(() => checkLaunchRequest({ iss: 'https://ehr.example.org/fhir', launch: 'x'.repeat(2049) }, ALLOWED)).expression, 'launch');
  });
});

describe('SMART launch: PKCE and state', () => {
  it('makes 43-character base64url verifiers and states, different each time', () => {
    const a = newRandomToken();
    const b = newRandomToken();
    assert.match(a, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a, b);
    assert.ok(isPkceVerifier(a));
    assert.equal(isPkceVerifier('short'), false);
    assert.equal(isPkceVerifier(`${'a'.repeat(43)}+`), false);
  });

  it('computes the S256 challenge of RFC 7636 appendix B', () => {
    assert.equal(pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
    const v = newRandomToken();
    assert.equal(pkceChallenge(v), createHash('sha256').update(v).digest('base64url'));
  });

  it('names cookies by digests, never by the token or state itself', () => {
    const token = 'eyJhbGciOiJFUzI1NiJ9.payload.signature';
    assert.match(sessionCookieName(token), /^bcc_smart_s_[A-Za-z0-9_-]{22}$/);
    assert.ok(!sessionCookieName(token).includes('payload'));
    assert.notEqual(launchCookieName('a'), launchCookieName('b'));
  });
});

describe('SMART launch: discovery, authorize URL, token response', () => {
  const config = { authorization_endpoint: 'https://auth.example.org/authorize', token_endpoint: 'https://auth.example.org/token', code_challenge_methods_supported: ['S256'] };

  it('reads the endpoints and builds the authorize URL with PKCE S256, state, launch, scope and aud = iss', () => {
    const c = parseSmartConfiguration(config, 'https://ehr.example.org/fhir');
    const url = new URL(
      buildAuthorizeUrl(c, { clientId: 'bcc-cds-viewer', redirectUri: 'https://bcc.example.org/viewer/callback', scope: 'launch openid', state: 's1', codeChallenge: 'c1', launch: 'l1', aud: 'https://ehr.example.org/fhir' }),
    );
    assert.equal(url.origin + url.pathname, 'https://auth.example.org/authorize');
    assert.deepEqual(Object.fromEntries(url.searchParams), {
      response_type: 'code',
      client_id: 'bcc-cds-viewer',
      redirect_uri: 'https://bcc.example.org/viewer/callback',
      launch: 'l1',
      scope: 'launch openid',
      state: 's1',
      aud: 'https://ehr.example.org/fhir',
      code_challenge: 'c1',
      code_challenge_method: 'S256',
    });
  });

  it('refuses a server without S256, without endpoints, or with http endpoints for an https FHIR server (502)', () => {
    assert.equal(outcomeOf(() => parseSmartConfiguration({ ...config, code_challenge_methods_supported: ['plain'] }, 'https://ehr.example.org/fhir')).status, 502);
    assert.equal(outcomeOf(() => parseSmartConfiguration({ token_endpoint: 'https://a/token' }, 'https://ehr.example.org/fhir')).status, 502);
    assert.equal(outcomeOf(() => parseSmartConfiguration({ ...config, token_endpoint: 'http://auth.example.org/token' }, 'https://ehr.example.org/fhir')).status, 502);
    assert.equal(parseSmartConfiguration({ ...config, token_endpoint: 'http://127.0.0.1:3000/token' }, 'http://127.0.0.1:3000/fhir').tokenEndpoint, 'http://127.0.0.1:3000/token');
  });

  it('reads the token response: Bearer access token, patient, appContext, id_token', () => {
    const t = parseTokenResponse({ access_token: 'at', token_type: 'bearer', expires_in: 300, scope: 'launch', patient: 'p1', appContext: formatViewerAppContext('r-1'), id_token: 'a.b.c', need_patient_banner: false });
    assert.deepEqual(t, { accessToken: 'at', expiresIn: 300, scope: 'launch', patient: 'p1', appContext: '{"reportId":"r-1","diagnosticReport":"DiagnosticReport/r-1"}', idToken: 'a.b.c' });
    assert.equal(outcomeOf(() => parseTokenResponse({ access_token: 'at', token_type: 'mac' })).status, 502);
    assert.equal(outcomeOf(() => parseTokenResponse({ token_type: 'Bearer' })).status, 502);
  });

  it('reads the report from appContext and refuses anything else', () => {
    assert.deepEqual(parseViewerAppContext(formatViewerAppContext('0b5b7b0e-8c1e-4f2a-9a55-2f0d7e3c1a11')), { reportId: '0b5b7b0e-8c1e-4f2a-9a55-2f0d7e3c1a11', diagnosticReport: 'DiagnosticReport/0b5b7b0e-8c1e-4f2a-9a55-2f0d7e3c1a11' });
    for (const bad of [undefined, '', 'not json', '{"reportId":"../x"}', '{"diagnosticReport":"Patient/1"}', '[]']) {
      assert.equal(outcomeOf(() => parseViewerAppContext(bad)).status, 502, String(bad));
    }
  });
});
