/**
 * The house rules of src/ (docs/architecture.md), checked on every import: each folder may import
 * only folders on lower tiers, so the HTTP edge depends on the pipeline and never the reverse, and
 * the sandbox and the research tools depend on the runtime core, never the core on them. And no
 * file imports itself back through any chain (no circles, within a folder or across).
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { PROJECT_ROOT } from '../../src/config.ts';

/** Lowest first. A folder may import its own tier's folder and any folder of a lower tier. */
export const TIERS: readonly (readonly string[])[] = [
  ['common'],
  ['config'],
  ['model'],
  ['imaging', 'fhir', 'rules'],
  ['gate', 'explain', 'referral'],
  ['analysis'],
  ['report'],
  ['assess', 'cards', 'viewer', 'feedback', 'annotation', 'registry'],
  ['cds'],
  ['storage'],
  ['service'],
  ['sandbox'],
  ['tools', 'learning', 'server'],
];

const SRC = resolve(PROJECT_ROOT, 'src');

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => join(e.parentPath, e.name));
}

/** `src/cds/auth/x.ts` -> `cds`; `src/config.ts` -> `config`. */
function folderOf(file: string): string {
  const [first = ''] = relative(SRC, file).split('/');
  return first.replace(/\.ts$/, '');
}

function tierOf(folder: string): number {
  return TIERS.findIndex((t) => t.includes(folder));
}

const files = await sourceFiles(SRC);
const imports = new Map<string, string[]>(
  await Promise.all(
    files.map(async (f): Promise<[string, string[]]> => {
      const info = ts.preProcessFile(await readFile(f, 'utf8'), true, true);
      const local = info.importedFiles.map((i) => i.fileName).filter((n) => n.startsWith('.'));
      return [f, local.map((n) => resolve(dirname(f), n))];
    }),
  ),
);

describe('architecture: who may import whom (docs/architecture.md)', () => {
  it('every folder of src/ has a tier', () => {
    const folders = new Set(files.map(folderOf));
    for (const f of folders) {
      assert.ok(tierOf(f) >= 0, `src/${f} is on no tier: add it to TIERS and docs/architecture.md`);
    }
  });

  it('imports only go down the tiers: the edge depends on the pipeline, tools and sandbox on the core', () => {
    const wrong: string[] = [];
    for (const [file, targets] of imports) {
      const from = folderOf(file);
      for (const t of targets) {
        const to = folderOf(t);
        if (tierOf(to) > tierOf(from)) {
          wrong.push(`${relative(PROJECT_ROOT, file)} imports ${relative(PROJECT_ROOT, t)} (${from} may not import ${to})`);
        }
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('no folder imports a folder of its own tier that imports it back', () => {
    const pairs = new Set<string>();
    for (const [file, targets] of imports) {
      for (const t of targets) {
        const a = folderOf(file);
        const b = folderOf(t);
        if (a !== b) {
          pairs.add(`${a}>${b}`);
        }
      }
    }
    const both = [...pairs].filter((p) => pairs.has(p.split('>').reverse().join('>')));
    assert.deepEqual(both, []);
  });

  it('no import circles between files', () => {
    const state = new Map<string, 'open' | 'done'>();
    const circles: string[] = [];
    const visit = (f: string, path: string[]): void => {
      state.set(f, 'open');
      for (const t of imports.get(f) ?? []) {
        if (state.get(t) === 'open') {
          circles.push([...path.slice(path.indexOf(t)), t].map((x) => relative(SRC, x)).join(' -> '));
        } else if (!state.has(t) && imports.has(t)) {
          visit(t, [...path, t]);
        }
      }
      state.set(f, 'done');
    };
    for (const f of imports.keys()) {
      if (!state.has(f)) {
        visit(f, [f]);
      }
    }
    assert.deepEqual(circles, []);
  });
});
