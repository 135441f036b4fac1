import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Attachment, Bundle, Resource } from 'fhir/r4';
import { attachmentBytes } from '../../src/fhir/attachment-bytes.ts';
import { decodeBase64 } from '../../src/fhir/base64.ts';
import type { FhirGateway } from '../../src/fhir/fhir-gateway.ts';
import { OperationOutcomeError, getStatus, badGateway } from '../../src/common/outcomes.ts';
import type { ReferralImage } from '../../src/referral/referral-images.ts';

/** Serves attachment bytes from a map; records each fetch. */
class FakeGateway implements FhirGateway {
  readonly fetched: string[] = [];
  constructor(private readonly files: ReadonlyMap<string, Buffer>) {}
  async search(): Promise<Bundle> {
    throw new Error('not used');
  }
  async read(): Promise<Resource> {
    throw new Error('not used');
  }
  async fetchAttachment(url: string, maxBytes: number): Promise<Buffer> {
    this.fetched.push(`${url} <= ${maxBytes}`);
    const bytes = this.files.get(url);
    if (!bytes) {
      throw new OperationOutcomeError(badGateway('attachment https://ehr/fhir/Binary/x: the FHIR server answered HTTP 503'));
    }
    return bytes;
  }
}

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);

function image(attachment: Attachment): ReferralImage {
  return { source: { reference: 'Media/1' }, attachment, label: 'Media/1', where: 'Media/1.content' };
}

async function rejectsAt(p: Promise<unknown>, status: number, expression: string, text?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof OperationOutcomeError);
    assert.equal(getStatus(err.outcome), status);
    assert.deepEqual(err.outcome.issue[0]?.expression, [expression]);
    if (text) {
      assert.match(err.message, text);
    }
    return true;
  });
}

describe('attachmentBytes', () => {
  it('decodes inline base64 data without touching the FHIR server', async () => {
    const gateway = new FakeGateway(new Map());
    const bytes = await attachmentBytes(image({ contentType: 'image/png', data: PNG.toString('base64'), url: 'Binary/1' }), gateway, 1000);
    assert.deepEqual(bytes, PNG);
    assert.deepEqual(gateway.fetched, []);
  });

  it('accepts base64 with MIME line breaks', async () => {
    const b64 = PNG.toString('base64');
    const wrapped = `${b64.slice(0, 8)}\r\n${b64.slice(8)}\n`;
    assert.deepEqual(await attachmentBytes(image({ data: wrapped }), undefined, 1000), PNG);
  });

  it('refuses data that is not base64, naming the element', async () => {
    for (const data of ['iVBO$w0K', 'iVBO-w0_', 'iV=BOw0K', 'a', '   ']) {
      await rejectsAt(attachmentBytes(image({ data }), undefined, 1000), 422, 'Media/1.content.data');
    }
  });

  it('refuses data over the byte cap before decoding it', async () => {
    await rejectsAt(attachmentBytes(image({ data: Buffer.alloc(300).toString('base64') }), undefined, 299), 422, 'Media/1.content.data', /limit is 299/);
    assert.equal((await attachmentBytes(image({ data: Buffer.alloc(300).toString('base64') }), undefined, 300)).length, 300);
  });

  it('refuses a declared size over the cap without fetching', async () => {
    const gateway = new FakeGateway(new Map([['Binary/1', PNG]]));
    await rejectsAt(attachmentBytes(image({ url: 'Binary/1', size: 5000 }), gateway, 1000), 422, 'Media/1.content.size');
    assert.deepEqual(gateway.fetched, []);
  });

  it('fetches a url through the gateway with the cap', async () => {
    const gateway = new FakeGateway(new Map([['Binary/1', PNG]]));
    assert.deepEqual(await attachmentBytes(image({ url: 'Binary/1' }), gateway, 1000), PNG);
    assert.deepEqual(gateway.fetched, ['Binary/1 <= 1000']);
  });

  it('names the element on a gateway failure', async () => {
    await rejectsAt(attachmentBytes(image({ url: 'Binary/missing' }), new FakeGateway(new Map()), 1000), 502, 'Media/1.content.url', /HTTP 503/);
  });

  it('answers 412 for a url when the request gives no FHIR server', async () => {
    await rejectsAt(attachmentBytes(image({ url: 'Binary/1' }), undefined, 1000), 412, 'Media/1.content.url');
  });

  it('refuses an attachment with neither data nor url, naming img.where', async () => {
    await rejectsAt(attachmentBytes(image({ contentType: 'image/jpeg' }), new FakeGateway(new Map()), 1000), 422, 'Media/1.content', /neither data nor url/);
  });
});

describe('decodeBase64', () => {
  it('tolerates missing padding, which loses nothing', () => {
    assert.deepEqual(decodeBase64('AQI', 10, 'x'), Buffer.from([1, 2]));
    assert.deepEqual(decodeBase64('AQI=', 10, 'x'), Buffer.from([1, 2]));
  });
});
