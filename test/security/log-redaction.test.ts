/** No tokens, image bytes or patient identifiers in logs, whatever the field is called. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/common/logger.ts';

const JWT = 'eyJhbGciOiJFUzM4NCJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl';

function logged(msg: string, fields: Record<string, unknown>): string {
  const lines: string[] = [];
  createLogger((l) => lines.push(l)).warn(msg, fields);
  assert.equal(lines.length, 1);
  return lines[0] ?? '';
}

describe('log redaction', () => {
  it('redacts fields by name, nested ones included', () => {
    const line = logged('x', {
      access_token: 'tok-1',
      authorization: 'Bearer tok-2',
      data: 'iVBORw0KGgo',
      patientId: 'Patient/123',
      request: { headers: { cookie: 'sid=1', Authorization: 'tok-3' }, subject: { reference: 'Patient/9' } },
      list: [{ identifier: 'MRN-77' }],
    });
    for (const secret of ['tok-1', 'tok-2', 'tok-3', 'iVBORw0KGgo', 'Patient/123', 'sid=1', 'Patient/9', 'MRN-77']) {
      assert.ok(!line.includes(secret), `${secret} in ${line}`);
    }
  });

  it('scrubs credential-shaped values in any field and in the message', () => {
    const line = logged(`failed with Bearer ${JWT}`, { error: `upstream said: token ${JWT} rejected`, note: 'Authorization: Bearer abc.def-ghi-jkl' });
    assert.ok(!line.includes(JWT), line);
    assert.ok(!line.includes('abc.def-ghi-jkl'), line);
    assert.match(line, /upstream said: token \[redacted\] rejected/);
  });

  it('keeps what is safe to read', () => {
    const line = logged('client authentication failed', { path: '/cds-services', reason: 'jti was already used (replay)', iss: 'https://ehr.example.org', kid: 'k1' });
    assert.match(line, /"reason":"jti was already used \(replay\)"/);
    assert.match(line, /"iss":"https:\/\/ehr.example.org"/);
  });
});
