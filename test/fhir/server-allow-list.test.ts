import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAllowedFhirServer, resolveUnderBase } from '../../src/fhir/server-allow-list.ts';

const allowed = ['https://ehr.example.org/fhir', 'http://127.0.0.1:8080/r4/'];

describe('isAllowedFhirServer', () => {
  it('allows the base itself, with or without a trailing slash, and paths below it', () => {
    for (const url of ['https://ehr.example.org/fhir', 'https://ehr.example.org/fhir/', 'https://EHR.example.org/fhir/tenant-a', 'https://ehr.example.org:443/fhir', 'http://127.0.0.1:8080/r4']) {
      assert.equal(isAllowedFhirServer(url, allowed), true, url);
    }
  });

  it('refuses another scheme, port or host', () => {
    for (const url of [
      'http://ehr.example.org/fhir',
      'https://ehr.example.org:8443/fhir',
      'https://ehr.example.org.evil.com/fhir',
      'https://evil.com/ehr.example.org/fhir',
      'https://sub.ehr.example.org/fhir',
      'http://127.0.0.1:8081/r4',
      'https://127.0.0.1:8080/r4',
    ]) {
      assert.equal(isAllowedFhirServer(url, allowed), false, url);
    }
  });

  it('needs the path prefix to end at a segment boundary', () => {
    assert.equal(isAllowedFhirServer('https://ehr.example.org/fhir-evil', allowed), false);
    assert.equal(isAllowedFhirServer('https://ehr.example.org/fhirx/Patient', allowed), false);
    assert.equal(isAllowedFhirServer('https://ehr.example.org/', allowed), false);
    assert.equal(isAllowedFhirServer('https://ehr.example.org/FHIR', allowed), false);
  });

  it('judges dot segments after normalising them, and refuses encoded slashes', () => {
    assert.equal(isAllowedFhirServer('https://ehr.example.org/fhir/../admin', allowed), false);
    assert.equal(isAllowedFhirServer('https://ehr.example.org/fhir/%2e%2e/admin', allowed), false);
    assert.equal(isAllowedFhirServer('https://ehr.example.org/fhir/..%2fadmin', allowed), false);
    assert.equal(isAllowedFhirServer('https://ehr.example.org/fhir/a/../b', allowed), true);
  });

  it('refuses credentials in the URL, whatever the host looks like', () => {
    assert.equal(isAllowedFhirServer('https://user:pw@ehr.example.org/fhir', allowed), false);
    assert.equal(isAllowedFhirServer('https://ehr.example.org@evil.com/fhir', allowed), false);
    assert.equal(isAllowedFhirServer('https://ehr.example.org/fhir', ['https://u:p@ehr.example.org/fhir']), false);
  });

  it('refuses a query or fragment, other schemes, junk and an empty list', () => {
    for (const url of ['https://ehr.example.org/fhir?x=1', 'https://ehr.example.org/fhir?', 'https://ehr.example.org/fhir#a', 'ftp://ehr.example.org/fhir', 'not a url', '']) {
      assert.equal(isAllowedFhirServer(url, allowed), false, url);
    }
    assert.equal(isAllowedFhirServer('https://ehr.example.org/fhir', []), false);
    assert.equal(isAllowedFhirServer('https://ehr.example.org/fhir', ['junk']), false);
  });
});

describe('resolveUnderBase', () => {
  const base = new URL('https://ehr.example.org/fhir');
  it('resolves a relative reference against the base path', () => {
    assert.equal(resolveUnderBase('Binary/1', base)?.href, 'https://ehr.example.org/fhir/Binary/1');
    assert.equal(resolveUnderBase('Binary/1', new URL('https://ehr.example.org/fhir/'))?.href, 'https://ehr.example.org/fhir/Binary/1');
  });
  it('refuses what resolves outside the base', () => {
    for (const url of ['/Binary/1', '../Binary/1', '//evil.com/fhir/Binary/1', 'https://evil.com/fhir/Binary/1', 'data:image/png;base64,AAAA', 'file:///etc/passwd']) {
      assert.equal(resolveUnderBase(url, base), undefined, url);
    }
  });
});
