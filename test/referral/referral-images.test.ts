import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DocumentReference, Media, ServiceRequest } from 'fhir/r4';
import { isImageContentType, parseReference, selectReferralImages, supportingImageReferences } from '../../src/referral/referral-images.ts';

const referral = {
  resourceType: 'ServiceRequest',
  id: 'ref1',
  status: 'active',
  intent: 'order',
  subject: { reference: 'Patient/p1' },
} satisfies ServiceRequest;

function media(id: string, fields: Partial<Media> = {}): Media {
  return {
    resourceType: 'Media',
    id,
    status: 'completed',
    subject: { reference: 'Patient/p1' },
    content: { contentType: 'image/jpeg', url: `Binary/${id}` },
    ...fields,
  } satisfies Media;
}

function sources(list: ReturnType<typeof selectReferralImages>): string[] {
  return list.map((i) => i.where);
}

describe('selectReferralImages', () => {
  it('takes Media whose basedOn points at the referral, and nothing else', () => {
    const mine = media('m1', { basedOn: [{ reference: 'ServiceRequest/ref1' }] });
    const other = media('m2', { basedOn: [{ reference: 'ServiceRequest/ref2' }] });
    const loose = media('m3');
    const images = selectReferralImages(referral, [other, mine, loose]);
    assert.deepEqual(sources(images), ['Media/m1.content']);
    assert.deepEqual(images[0]?.source, { reference: 'Media/m1', type: 'Media' });
    assert.deepEqual(images[0].attachment, { contentType: 'image/jpeg', url: 'Binary/m1' });
  });

  it('reads absolute, versioned and urn forms of the basedOn reference', () => {
    const candidates = [
      media('abs', { basedOn: [{ reference: 'https://ehr.example.org/fhir/ServiceRequest/ref1' }] }),
      media('ver', { basedOn: [{ reference: 'ServiceRequest/ref1/_history/3' }] }),
      media('urn', { basedOn: [{ reference: 'urn:uuid:ref1' }] }),
      media('near', { basedOn: [{ reference: 'https://ehr.example.org/fhir/ServiceRequest/ref10' }] }),
      media('typed', { basedOn: [{ reference: 'https://ehr.example.org/fhir/CarePlan/ref1' }] }),
    ];
    assert.deepEqual(sources(selectReferralImages(referral, candidates)), ['Media/abs.content', 'Media/ver.content', 'Media/urn.content']);
  });

  it('takes resources listed in supportingInfo first, in that order, whatever their basedOn', () => {
    const withInfo = {
      ...referral,
      supportingInfo: [{ reference: 'Observation/o1' }, { reference: 'Media/s2' }, { reference: 'https://ehr.example.org/fhir/Media/s1' }],
    } satisfies ServiceRequest;
    const candidates = [media('b1', { basedOn: [{ reference: 'ServiceRequest/ref1' }] }), media('s1'), media('s2')];
    assert.deepEqual(sources(selectReferralImages(withInfo, candidates)), ['Media/s2.content', 'Media/s1.content', 'Media/b1.content']);
  });

  it('counts each image attachment of a DocumentReference, via context.related or supportingInfo', () => {
    const doc = {
      resourceType: 'DocumentReference',
      id: 'd1',
      status: 'current',
      description: 'Teledermatology photos',
      context: { related: [{ reference: 'ServiceRequest/ref1' }] },
      content: [
        { attachment: { contentType: 'image/png', data: 'iVBORw0KGgo=' } },
        { attachment: { contentType: 'application/pdf', url: 'Binary/letter' } },
        { attachment: { contentType: 'image/jpeg; name=close-up.jpg', url: 'Binary/d1b', title: 'Close-up' } },
      ],
    } satisfies DocumentReference;
    const listed = { ...doc, id: 'd2', context: {} } satisfies DocumentReference;
    const unrelated = { ...doc, id: 'd3', context: { related: [{ reference: 'ServiceRequest/zzz' }] } } satisfies DocumentReference;
    const withInfo = { ...referral, supportingInfo: [{ reference: 'DocumentReference/d2' }] } satisfies ServiceRequest;
    const images = selectReferralImages(withInfo, [unrelated, doc, listed]);
    assert.deepEqual(sources(images), [
      'DocumentReference/d2.content[0].attachment',
      'DocumentReference/d2.content[2].attachment',
      'DocumentReference/d1.content[0].attachment',
      'DocumentReference/d1.content[2].attachment',
    ]);
    assert.deepEqual(
      images.map((i) => i.label),
      ['Teledermatology photos', 'Close-up', 'Teledermatology photos', 'Close-up'],
    );
  });

  it('keeps only image content types; an attachment without one is kept for the decoder to judge', () => {
    const candidates = [
      media('jpg', { content: { contentType: 'IMAGE/JPEG' } }),
      media('png', { content: { contentType: 'image/png' } }),
      media('webp', { content: { contentType: 'image/webp' } }),
      media('tif', { content: { contentType: 'image/tiff' } }),
      media('none', { content: { url: 'Binary/none' } }),
      media('dcm', { content: { contentType: 'application/dicom' } }),
      media('mp4', { content: { contentType: 'video/mp4' } }),
      media('gif', { content: { contentType: 'image/gif' } }),
    ].map((m) => ({ ...m, basedOn: [{ reference: 'ServiceRequest/ref1' }] }));
    assert.deepEqual(sources(selectReferralImages(referral, candidates)), ['Media/jpg.content', 'Media/png.content', 'Media/webp.content', 'Media/tif.content', 'Media/none.content']);
  });

  it('deduplicates by source: the same Media from two places, or listed twice, appears once', () => {
    const m = media('m1', { basedOn: [{ reference: 'ServiceRequest/ref1' }] });
    const withInfo = { ...referral, supportingInfo: [{ reference: 'Media/m1' }, { reference: 'https://ehr.example.org/fhir/Media/m1' }] } satisfies ServiceRequest;
    assert.deepEqual(sources(selectReferralImages(withInfo, [m, { ...m }, m])), ['Media/m1.content']);
  });

  it('leaves out records entered in error, superseded documents and Media not done', () => {
    const based = [{ reference: 'ServiceRequest/ref1' }];
    const candidates = [
      media('err', { status: 'entered-in-error', basedOn: based }),
      media('notdone', { status: 'not-done', basedOn: based }),
      { resourceType: 'DocumentReference', id: 'sup', status: 'superseded', context: { related: based }, content: [{ attachment: { contentType: 'image/png', url: 'Binary/x' } }] } satisfies DocumentReference,
      media('ok', { basedOn: based }),
    ];
    assert.deepEqual(sources(selectReferralImages(referral, candidates)), ['Media/ok.content']);
  });

  it('labels with title, else body site, else the reference, and carries the body site', () => {
    const based = [{ reference: 'ServiceRequest/ref1' }];
    const site = { coding: [{ system: 'http://snomed.info/sct', code: '60819002', display: 'Cheek' }] };
    const images = selectReferralImages(referral, [
      media('t', { basedOn: based, content: { contentType: 'image/jpeg', title: 'Left cheek, dermoscopy' }, bodySite: site }),
      media('s', { basedOn: based, bodySite: site }),
      media('n', { basedOn: based }),
    ]);
    assert.deepEqual(
      images.map((i) => i.label),
      ['Left cheek, dermoscopy', 'Cheek', 'Media/n'],
    );
    assert.deepEqual(images[1]?.bodySite, site);
    assert.equal(images[2]?.bodySite, undefined);
  });

  it('does not match anything for a referral without id, except through supportingInfo', () => {
    const { id: _id, ...noId } = referral;
    const anon = { ...noId, supportingInfo: [{ reference: 'Media/s1' }] } satisfies ServiceRequest;
    const candidates = [media('b', { basedOn: [{ reference: 'ServiceRequest/undefined' }] }), media('s1')];
    assert.deepEqual(sources(selectReferralImages(anon, candidates)), ['Media/s1.content']);
  });

  it('survives malformed candidates without crashing', () => {
    const odd = [
      { resourceType: 'Media', id: 'x', basedOn: 'ServiceRequest/ref1', content: { contentType: 'image/png' } },
      { resourceType: 'Media', id: 'y', basedOn: [{ reference: 'ServiceRequest/ref1' }], content: 'nope' },
      { resourceType: 'Media', basedOn: [{ reference: 'ServiceRequest/ref1' }], content: { contentType: 'image/png' } },
      { resourceType: 'DocumentReference', id: 'z', context: { related: [{ reference: 'ServiceRequest/ref1' }] }, content: [null, { attachment: { contentType: 3 } }] },
    ];
    assert.deepEqual(selectReferralImages(referral, odd), []);
  });
});

describe('reference helpers', () => {
  it('parses relative, absolute, versioned and typed urn references', () => {
    assert.deepEqual(parseReference({ reference: 'Media/1' }), { type: 'Media', id: '1' });
    assert.deepEqual(parseReference({ reference: 'http://h:8080/fhir/Media/a.b-c/_history/2' }), { type: 'Media', id: 'a.b-c' });
    assert.deepEqual(parseReference({ reference: 'urn:uuid:5f0e', type: 'Media' }), { type: 'Media', id: '5f0e' });
    assert.equal(parseReference({ reference: 'urn:uuid:5f0e' }), undefined);
    assert.equal(parseReference({ reference: '#contained' }), undefined);
    assert.equal(parseReference({ reference: 'fhir/Media/1' }), undefined);
    assert.equal(parseReference({ identifier: { value: 'x' } }), undefined);
  });

  it('lists only image-bearing supportingInfo entries, naming each', () => {
    const sr = { ...referral, supportingInfo: [{ reference: 'Condition/c' }, { reference: 'DocumentReference/d' }, { display: 'photo' }, { reference: 'Media/m' }] } satisfies ServiceRequest;
    assert.deepEqual(
      supportingImageReferences(sr).map((s) => [s.reference, s.where]),
      [
        ['DocumentReference/d', 'ServiceRequest/ref1.supportingInfo[1]'],
        ['Media/m', 'ServiceRequest/ref1.supportingInfo[3]'],
      ],
    );
  });

  it('accepts the decoder formats and a missing content type only', () => {
    assert.equal(isImageContentType(undefined), true);
    assert.equal(isImageContentType('image/jpg'), true);
    assert.equal(isImageContentType(''), false);
    assert.equal(isImageContentType('image/svg+xml'), false);
  });
});
