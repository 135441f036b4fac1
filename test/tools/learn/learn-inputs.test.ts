import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseGroups } from '../../../src/tools/learn/groups-file.ts';
import { findImageFile } from '../../../src/tools/learn/image-files.ts';

describe('npm run learn inputs', () => {
  it('finds an image key as a relative path, or with an image extension (the store\'s Media/<id>), never outside --images', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bcc-learn-keys-'));
    try {
      await mkdir(join(dir, 'Media'));
      await writeFile(join(dir, 'Media', 'm1.png'), 'x');
      await writeFile(join(dir, 'a.jpg'), 'x');
      assert.equal((await findImageFile(dir, 'a.jpg')).path, join(dir, 'a.jpg'));
      assert.equal((await findImageFile(dir, 'Media/m1')).path, join(dir, 'Media', 'm1.png'));
      const none = await findImageFile(dir, 'Media/m2');
      assert.equal(none.path, null);
      assert.match('reason' in none ? none.reason : '', /no file/);
      for (const key of ['../a.jpg', '/etc/passwd', 'Media/../../a.jpg']) {
        assert.deepEqual(await findImageFile(dir, key), { key, path: null, reason: 'the key leaves the images folder' });
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads image,group and refuses an image in two groups', () => {
    assert.deepEqual([...parseGroups('image,group\na.jpg,L1\nb.jpg,L1\n', 'g.csv')], [['a.jpg', 'L1'], ['b.jpg', 'L1']]);
    assert.throws(() => parseGroups('image,group\na.jpg,L1\na.jpg,L2\n', 'g.csv'), /one group per image/);
    assert.throws(() => parseGroups('image,lesion\na.jpg,L1\n', 'g.csv'), /columns image,group/);
  });
});
