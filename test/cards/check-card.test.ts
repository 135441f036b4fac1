import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Card } from '../../src/cards/card.ts';
import { checkCard } from '../../src/cards/check-card.ts';

const good = {
  uuid: '00000000-0000-4000-8000-000000000001',
  summary: 'BCC triage: Routine priority: usual order — 1 in 100 scored like this were BCC (7 in 100 overall) — decision support',
  indicator: 'info',
  source: { label: 'BCC-CDS', url: 'https://bcc-cds.org/model-card' },
  selectionBehavior: 'any',
  suggestions: [
    {
      label: 'Save AI triage report to the chart',
      actions: [{ type: 'create', description: 'Save the report', resource: { resourceType: 'DiagnosticReport', status: 'preliminary', code: { text: 'x' } } }],
    },
  ],
  overrideReasons: [{ system: 'http://bcc-cds.org/fhir/CodeSystem/cds-override-reason', code: 'image-quality', display: 'Image quality' }],
  links: [{ label: 'Viewer', url: 'https://viewer.example.org/1', type: 'absolute' }],
} satisfies Card;

describe('checkCard', () => {
  it('accepts a conforming card', () => {
    assert.deepEqual(checkCard(good), []);
  });

  it('catches a summary of 140 characters or more', () => {
    assert.deepEqual(checkCard({ ...good, summary: 'x'.repeat(139) }), []);
    assert.deepEqual(checkCard({ ...good, summary: 'x'.repeat(140) }), ['card.summary: must be shorter than 140 characters (has 140)']);
  });

  it('catches an indicator outside info/warning/critical', () => {
    const v = checkCard({ ...good, indicator: 'hard-stop' });
    assert.equal(v.length, 1);
    assert.match(v[0] ?? '', /^card\.indicator: /);
  });

  it('catches a create or update action without a resource, naming it', () => {
    const bad = { ...good, suggestions: [{ label: 'Save', actions: [{ type: 'create', description: 'Save it' }, { type: 'update', description: 'Update it' }] }] };
    assert.deepEqual(checkCard(bad), [
      'card.suggestions.0.actions.0.resource: is required for a create action',
      'card.suggestions.0.actions.1.resource: is required for a update action',
    ]);
  });

  it('catches suggestions without selectionBehavior, a label or a description, and a bad action type', () => {
    const { selectionBehavior: _omit, ...noBehavior } = good;
    assert.deepEqual(checkCard(noBehavior), ['card.selectionBehavior: is required when suggestions are present']);
    const v = checkCard({ ...good, suggestions: [{ label: '', actions: [{ type: 'replace', description: '', resource: { resourceType: 'Observation' } }] }] });
    assert.ok(v.some((m) => m.startsWith('card.suggestions.0.label')));
    assert.ok(v.some((m) => m.startsWith('card.suggestions.0.actions.0.type')));
    assert.ok(v.some((m) => m.startsWith('card.suggestions.0.actions.0.description')));
  });

  it('catches a missing uuid, source label, override display, and a bad link', () => {
    const v = checkCard({
      ...good,
      uuid: undefined,
      source: { label: '' },
      overrideReasons: [{ code: 'x' }],
      links: [{ label: 'Viewer', url: '/relative', type: 'absolute' }, { label: 'App', url: 'https://a.example', type: 'iframe' }],
    });
    assert.ok(v.some((m) => m.startsWith('card.uuid')));
    assert.ok(v.some((m) => m.startsWith('card.source.label')));
    assert.ok(v.some((m) => m.startsWith('card.overrideReasons.0.display')));
    assert.ok(v.some((m) => m === 'card.links.0.url: must be an absolute http(s) URL for an absolute link'));
    assert.ok(v.some((m) => m.startsWith('card.links.1.type')));
  });

  it('takes a smart link with appContext, and refuses a relative launch URL or appContext on an absolute link', () => {
    assert.deepEqual(checkCard({ ...good, links: [{ label: 'Viewer', url: 'https://bcc.example.org/viewer/launch', type: 'smart', appContext: '{"reportId":"1"}' }] }), []);
    const v = checkCard({
      ...good,
      links: [{ label: 'Viewer', url: '/viewer/launch', type: 'smart' }, { label: 'Viewer', url: 'https://viewer.example.org/1', type: 'absolute', appContext: 'x' }],
    });
    assert.ok(v.includes('card.links.0.url: must be an absolute http(s) launch URL for a smart link'), v.join('\n'));
    assert.ok(v.includes('card.links.1.appContext: is only valid for smart links'), v.join('\n'));
  });

  it('reports several faults at once', () => {
    const v = checkCard({ ...good, indicator: 'urgent', summary: 'y'.repeat(200) });
    assert.equal(v.length, 2);
  });

  it('rejects what is not a card at all', () => {
    assert.ok(checkCard(undefined).length > 0);
    assert.ok(checkCard('card').length > 0);
  });
});
