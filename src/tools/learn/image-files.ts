/**
 * Where an annotation sheet's image key lives under --images: the key as a relative path, or that
 * path plus a usual image extension (the store export's key is `Media/<id>`, with no extension, so
 * `<images>/Media/<id>.jpg` is found). A key that would leave --images (absolute, `..`) is refused.
 */
import { stat } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';

export const IMAGE_EXTENSIONS = ['', '.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff'] as const;

export type ImageFile = { readonly key: string; readonly path: string } | { readonly key: string; readonly path: null; readonly reason: string };

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

export async function findImageFile(imagesDir: string, key: string): Promise<ImageFile> {
  const rel = normalize(key);
  if (isAbsolute(key) || rel === '..' || rel.startsWith(`..${sep}`)) {
    return { key, path: null, reason: 'the key leaves the images folder' };
  }
  for (const ext of IMAGE_EXTENSIONS) {
    const path = join(imagesDir, rel + ext);
    if (await isFile(path)) {
      return { key, path };
    }
  }
  return { key, path: null, reason: `no file ${join(imagesDir, rel)}[${IMAGE_EXTENSIONS.filter(Boolean).join('|')}]` };
}
