/**
 * npm run feedback-export -- [--db var/feedback.sqlite | --database-url postgres://...] --out <sheet.csv> [--include-unanswered]
 *
 * Writes clinicians' feedback on cards (CDS Hooks feedback endpoint: accepted / overridden, reason,
 * comment) joined with what each card said (referral, category, BCC probability, model version,
 * times), plus empty image,annotator,label,value columns a dermatologist fills in; the filled-in
 * file is an annotation sheet for `npm run consensus` (src/tools/consensus/feedback-sheet.ts).
 * --db defaults to $FEEDBACK_DB, else var/feedback.sqlite (the service's default); --database-url (or
 * $DATABASE_URL when --db is not given) reads the PostgreSQL store shared by replicas instead.
 * --include-unanswered adds the issued cards nobody has given feedback on (outcome empty).
 * Exit 0 when written; 2 on bad usage or a database that is missing or unreadable (the export never
 * creates one).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UsageError, parseFlags, runCli } from './cli-run.ts';
import { formatFeedbackSheet } from '../consensus/feedback-sheet.ts';
import type { CardOutcomes } from '../../feedback/feedback-store.ts';
import { DEFAULT_CONFIG } from '../../config.ts';
import { openExistingStore } from '../../storage/open-store.ts';

const USAGE = 'usage: npm run feedback-export -- [--db var/feedback.sqlite | --database-url postgres://...] --out <sheet.csv> [--include-unanswered]';

const FLAGS = {
  db: { type: 'string' },
  'database-url': { type: 'string' },
  out: { type: 'string' },
  'include-unanswered': { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

interface Options {
  readonly db: string;
  readonly databaseUrl: string | undefined;
  readonly out: string;
  readonly unanswered: boolean;
}

function readOptions(argv: readonly string[], env: NodeJS.ProcessEnv): Options {
  const values = parseFlags(argv, FLAGS);
  if (values.help) {
    throw new UsageError('');
  }
  if (values.out === undefined) {
    throw new UsageError('--out is required');
  }
  return {
    db: resolve(values.db ?? env.FEEDBACK_DB ?? DEFAULT_CONFIG.feedbackDbPath),
    databaseUrl: values['database-url'] ?? (values.db === undefined ? env.DATABASE_URL || undefined : undefined),
    out: resolve(values.out),
    unanswered: values['include-unanswered'],
  };
}

async function main(argv: readonly string[]): Promise<number> {
  const opts = readOptions(argv, process.env);
  const store = await openExistingStore({ databaseUrl: opts.databaseUrl, feedbackDbPath: opts.db }, 'feedback database');
  let outcomes: CardOutcomes;
  try {
    outcomes = await store.listCardOutcomes();
  } finally {
    await store.close();
  }
  await mkdir(dirname(opts.out), { recursive: true });
  await writeFile(opts.out, formatFeedbackSheet(outcomes, { unanswered: opts.unanswered }));
  const overridden = outcomes.feedback.filter((f) => f.outcome === 'overridden').length;
  process.stdout.write(
    `${outcomes.feedback.length} feedback row(s) (${overridden} overridden)` +
      (opts.unanswered ? ` and ${outcomes.unanswered.length} unanswered card(s)` : '') +
      ` -> ${opts.out}\n`,
  );
  return 0;
}

runCli('feedback-export', USAGE, main);
