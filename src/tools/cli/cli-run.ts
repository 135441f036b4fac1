import type { ParseArgsConfig } from 'node:util';
import { parseArgs } from 'node:util';
import { OperationOutcomeError, describeOutcome } from '../../common/outcomes.ts';

/** Bad usage: the command prints its usage line and exits 2. An empty message prints usage alone (--help). */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs without positionals; unknown or malformed flags are bad usage, not a crash. */
export function parseFlags<const T extends Options>(argv: readonly string[], options: T): ReturnType<typeof parseArgs<{ options: T }>>['values'] {
  try {
    return parseArgs({ args: [...argv], options }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** An integer flag >= min, or undefined when absent. */
export function integerFlag(flag: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) {
    return undefined;
  }
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new UsageError(`--${flag} must be an integer >= ${min}, got "${value}"`);
  }
  return n;
}

function describeError(err: unknown): string {
  return err instanceof OperationOutcomeError ? describeOutcome(err.outcome) : String(err);
}

/**
 * Runs a command's main with its arguments and sets the exit code: main's own, or 2 with the usage
 * line for bad usage and with the error in words for anything else.
 */
export function runCli(name: string, usage: string, main: (argv: readonly string[]) => Promise<number>, describe: (err: unknown) => string = describeError): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      if (err instanceof UsageError) {
        process.stderr.write(err.message ? `${name}: ${err.message}\n${usage}\n` : `${usage}\n`);
      } else {
        process.stderr.write(`${name}: ${describe(err)}\n`);
      }
      process.exitCode = 2;
    },
  );
}
