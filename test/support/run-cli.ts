import { spawn } from 'node:child_process';
import { PROJECT_ROOT } from '../../src/config.ts';

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Node flags before `--import tsx` (the validator needs `--experimental-websocket`, as its npm script has). */
  readonly nodeFlags?: readonly string[];
}

/** Runs `node [flags] --import tsx <script> ...args` from the project root, as npm run would. */
export function runCli(script: string, args: readonly string[], opts: CliOptions = {}): Promise<CliRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...(opts.nodeFlags ?? []), '--import', 'tsx', script, ...args], { cwd: PROJECT_ROOT, env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => { resolvePromise({ code, stdout, stderr }); });
  });
}
