/**
 * The flags of `npm run learn` (src/tools/cli/learn.ts) as checked options: every problem here is
 * bad usage (exit 2). Whether files exist and the pattern fits the base manifest is checked later,
 * against the files themselves.
 */
import { resolve } from 'node:path';
import { DEFAULT_CONFIG, PROJECT_ROOT, modelPaths } from '../../config.ts';
import { UsageError, integerFlag, parseFlags } from '../cli/cli-run.ts';

export const LEARN_USAGE =
  'usage: npm run learn -- (--annotations <csv> | --from-store [--db <sqlite> | --database-url <postgres://...>]) --images <dir> --pattern <id> --out <dir> ' +
  '[--base <manifest.json>] [--replace] [--groups <csv>] [--cache <dir>] [--folds 5] [--seed 1]';

/** Feature cache root; a folder per network below it (feature-cache.ts). .cache/ is git-ignored. */
export const DEFAULT_FEATURE_CACHE = resolve(PROJECT_ROOT, '.cache/features');

export type AnnotationSource =
  | { readonly kind: 'csv'; readonly path: string }
  | { readonly kind: 'store'; readonly databaseUrl: string | undefined; readonly db: string };

export interface LearnOptions {
  readonly annotations: AnnotationSource;
  readonly images: string;
  readonly pattern: string;
  readonly out: string;
  readonly base: string;
  readonly replace: boolean;
  readonly groups: string | undefined;
  readonly cache: string;
  readonly folds: number;
  readonly seed: number;
}

const FLAGS = {
  annotations: { type: 'string' },
  'from-store': { type: 'boolean', default: false },
  db: { type: 'string' },
  'database-url': { type: 'string' },
  images: { type: 'string' },
  pattern: { type: 'string' },
  out: { type: 'string' },
  base: { type: 'string' },
  replace: { type: 'boolean', default: false },
  groups: { type: 'string' },
  cache: { type: 'string' },
  folds: { type: 'string' },
  seed: { type: 'string' },
  help: { type: 'boolean', default: false },
} as const;

export function readLearnOptions(argv: readonly string[], env: NodeJS.ProcessEnv): LearnOptions {
  const v = parseFlags(argv, FLAGS);
  if (v.help) {
    throw new UsageError('');
  }
  if ((v.annotations === undefined) === !v['from-store']) {
    throw new UsageError('give exactly one of --annotations <csv> and --from-store');
  }
  if (!v['from-store'] && (v.db !== undefined || v['database-url'] !== undefined)) {
    throw new UsageError('--db and --database-url go with --from-store');
  }
  const missing = (['images', 'pattern', 'out'] as const).filter((k) => v[k] === undefined);
  if (missing.length) {
    throw new UsageError(`${missing.map((k) => `--${k}`).join(', ')} ${missing.length === 1 ? 'is' : 'are'} required`);
  }
  // As npm run feedback-export reads the store: --db, else $FEEDBACK_DB, else the service's default; $DATABASE_URL when no --db.
  const annotations: AnnotationSource =
    v.annotations === undefined
      ? {
          kind: 'store',
          db: resolve(v.db ?? env.FEEDBACK_DB ?? DEFAULT_CONFIG.feedbackDbPath),
          databaseUrl: v['database-url'] ?? (v.db === undefined ? env.DATABASE_URL || undefined : undefined),
        }
      : { kind: 'csv', path: resolve(v.annotations) };
  return {
    annotations,
    images: resolve(v.images!),
    pattern: v.pattern!,
    out: resolve(v.out!),
    base: v.base === undefined ? modelPaths(env).manifest : resolve(v.base),
    replace: v.replace,
    groups: v.groups === undefined ? undefined : resolve(v.groups),
    cache: v.cache === undefined ? DEFAULT_FEATURE_CACHE : resolve(v.cache),
    folds: integerFlag('folds', v.folds, 2) ?? 5,
    seed: integerFlag('seed', v.seed, 0) ?? 1,
  };
}
