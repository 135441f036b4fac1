/**
 * A TypeScript entry point run as its own Node process, so its CPU time and peak RSS are its own
 * (read from /proc on Linux). The child announces itself with one JSON line on stdout:
 * `{"event":"listening","baseUrl":"http://127.0.0.1:<port>/..."}`.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { PROJECT_ROOT } from '../src/config.ts';
import { listeningBaseUrl, stopProcess } from '../test/support/child-process.ts';

export interface ChildServer {
  readonly pid: number;
  readonly baseUrl: string;
  /** The last lines the child wrote to stderr, for failure messages. */
  stderr(): string;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 90_000;

/** `nodeArgs`: extra Node flags, e.g. `--cpu-prof` to profile the child. */
export async function startChildServer(entry: string, env: NodeJS.ProcessEnv = {}, nodeArgs: readonly string[] = []): Promise<ChildServer> {
  const child = spawn(process.execPath, [...nodeArgs, '--experimental-websocket', '--import', 'tsx', entry], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err = (err + chunk).slice(-8000);
  });
  try {
    const baseUrl = await listening(child, () => err);
    return { pid: child.pid ?? 0, baseUrl, stderr: () => err, stop: () => stopProcess(child) };
  } catch (e) {
    await stopProcess(child);
    throw e;
  }
}

function listening(child: ChildProcess, stderr: () => string): Promise<string> {
  const out = child.stdout;
  if (!out) {
    return Promise.reject(new Error('child has no stdout'));
  }
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: out });
    const timer = setTimeout(() => { fail(`did not report listening within ${START_TIMEOUT_MS} ms`); }, START_TIMEOUT_MS);
    const onExit = (code: number | null): void => { fail(`exited (code ${String(code)}) before listening`); };
    function fail(why: string): void {
      clearTimeout(timer);
      child.off('exit', onExit);
      reject(new Error(`${why}; stderr:\n${stderr() || '(empty)'}`));
    }
    child.once('exit', onExit);
    lines.on('line', (line) => {
      const url = listeningBaseUrl(line);
      if (url) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(url);
      }
    });
  });
}



// ---------------------------------------------------------------- /proc (Linux; undefined elsewhere)

/** Peak resident set (VmHWM) and current resident set (VmRSS) in MB. */
export async function memoryOf(pid: number): Promise<{ readonly peakMb: number; readonly rssMb: number } | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { peakMb: kb('VmHWM') / 1024, rssMb: kb('VmRSS') / 1024 };
  } catch {
    return undefined;
  }
}

/** Resets VmHWM to the current RSS, so the next peak belongs to what runs next. */
export async function resetPeakMemory(pid: number): Promise<boolean> {
  try {
    await writeFile(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** User + system CPU time of a process, ms (clock ticks of 10 ms). */
export async function cpuMsOf(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}
