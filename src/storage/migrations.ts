import { readdir, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SharedStore } from './shared-store.ts';

const MIGRATIONS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), 'migrations');

export interface Migration {
  /** The file name without `.sql` (`001_initial`); applied in this order, each once. */
  readonly version: string;
  readonly sql: string;
}

/** The migrations in the repo for one database, in order. */
export async function readMigrations(dialect: SharedStore['kind']): Promise<Migration[]> {
  const dir = resolve(MIGRATIONS_DIR, dialect);
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  return Promise.all(files.map(async (f) => ({ version: f.slice(0, -4), sql: await readFile(resolve(dir, f), 'utf8') })));
}

/** How often a store deletes expired replay entries and rate windows (each replica on its own). */
export const SWEEP_INTERVAL_MS = 60_000;
