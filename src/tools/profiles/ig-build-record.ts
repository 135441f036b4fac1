import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { PROJECT_ROOT } from '../../config.ts';

/**
 * The HL7 AI Transparency IG's conformance resources, built by `npm run ig` (scripts/build-ig.ts)
 * from the FSH sources in ../shared/standards with the project's SUSHI, and committed here so that
 * nothing needs ../shared at run or test time.
 */
export const IG_DIR = resolve(PROJECT_ROOT, 'fhir-profiles/aitransparency');
export const IG_RESOURCE_DIR = join(IG_DIR, 'resources');
export const IG_RECORD_FILE = join(IG_DIR, 'build.json');
/** Where the sources are kept (../shared/standards/README.md names the upstream commit). */
export const IG_DEFAULT_SOURCE = resolve(PROJECT_ROOT, '../shared/standards/hl7-aitransparency-ig');

/** build.json: what was built, from what, with what. */
export interface IgBuildRecord {
  readonly packageId: string;
  readonly version: string;
  readonly canonical: string;
  readonly source: {
    readonly repository: string;
    /** The upstream commit ../shared/standards/README.md gives for the copy. */
    readonly commit: string;
    /** sha256 over sushi-config.yaml and input/fsh/**: see sourceDigest. */
    readonly digest: string;
    readonly files: number;
  };
  readonly build: {
    readonly tool: string;
    /** What the build-time copy of sushi-config.yaml drops, and why. */
    readonly configChanges: readonly string[];
    /** The resource types kept from SUSHI's output (examples and the ImplementationGuide are not). */
    readonly kept: readonly string[];
  };
  /** resources/<file> -> sha256 of its bytes. */
  readonly files: Readonly<Record<string, string>>;
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      out.push(...(await listFiles(p)));
    } else if (e.isFile()) {
      out.push(p);
    }
  }
  return out;
}

/**
 * sha256 of `<relative path>\0<sha256 of bytes>\n` for sushi-config.yaml and every file under
 * input/fsh, sorted by path: the FSH a build read, independent of where the folder lies.
 */
export async function sourceDigest(sourceDir: string): Promise<{ digest: string; files: number }> {
  const files = [join(sourceDir, 'sushi-config.yaml'), ...(await listFiles(join(sourceDir, 'input', 'fsh')))];
  const lines = await Promise.all(
    files.map(async (f) => `${relative(sourceDir, f).split(sep).join('/')}\0${sha256(await readFile(f))}\n`),
  );
  return { digest: sha256(lines.sort().join('')), files: files.length };
}

/** The commit ../shared/standards/README.md gives for the IG's copy ("at commit <40 hex>"). */
export async function sourceCommit(sourceDir: string): Promise<string> {
  const readme = await readFile(resolve(sourceDir, '..', 'README.md'), 'utf8');
  const row = readme.split('\n').find((l) => l.includes('hl7-aitransparency-ig'));
  const m = row ? /at commit ([0-9a-f]{40})/.exec(row) : null;
  if (!m?.[1]) {
    throw new Error(`${resolve(sourceDir, '..', 'README.md')}: no "at commit <sha>" for hl7-aitransparency-ig`);
  }
  return m[1];
}

export async function readIgBuildRecord(path: string = IG_RECORD_FILE): Promise<IgBuildRecord> {
  return JSON.parse(await readFile(path, 'utf8')) as IgBuildRecord;
}

/** resources/<file> -> sha256, for every JSON file of `dir`. */
export async function digestResourceDir(dir: string): Promise<Record<string, string>> {
  const names = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  const out: Record<string, string> = {};
  for (const n of names) {
    out[n] = sha256(await readFile(join(dir, n)));
  }
  return out;
}
