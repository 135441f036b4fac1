/**
 * Starts src/fhir-server/main.ts as a separate process, as integration tests need a FHIR server that
 * shares nothing (module state, Medplum's global schema) with the code under test.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { PROJECT_ROOT } from '../../src/config.ts';

export interface FhirServerProcess {
  readonly baseUrl: string;
  stop(): Promise<void>;
}

/** Loading the R4 definitions takes a few seconds; a cold tsx cache and a busy CI machine take more. */
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;
const STDERR_KEEP = 8_000;

export async function startFhirServerProcess(): Promise<FhirServerProcess> {
  const child = spawn(process.execPath, ['--experimental-websocket', '--import', 'tsx', 'src/fhir-server/main.ts'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEEP);
  });
  try {
    const baseUrl = await waitForListening(child, () => stderr);
    return { baseUrl, stop: () => stopProcess(child) };
  } catch (err) {
    await stopProcess(child);
    throw err;
  }
}

function waitForListening(child: ChildProcess, stderr: () => string): Promise<string> {
  const stdout = child.stdout;
  if (!stdout) {
    return Promise.reject(new Error('FHIR server process has no stdout pipe'));
  }
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: stdout });
    const fail = (why: string): void => {
      cleanup();
      reject(new Error(`FHIR server process ${why}; stderr:\n${stderr() || '(empty)'}`));
    };
    const timer = setTimeout(() => fail(`did not report listening within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => fail(`exited before listening (code ${code}, signal ${signal})`);
    const onError = (err: Error): void => fail(`could not start: ${err.message}`);
    const onLine = (line: string): void => {
      const baseUrl = listeningBaseUrl(line);
      if (baseUrl) {
        cleanup();
        resolve(baseUrl);
      }
    };
    function cleanup(): void {
      clearTimeout(timer);
      child.off('exit', onExit);
      child.off('error', onError);
      lines.off('line', onLine);
    }
    child.once('exit', onExit);
    child.once('error', onError);
    lines.on('line', onLine);
  });
}

function listeningBaseUrl(line: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed === 'object' && parsed !== null && 'event' in parsed && 'baseUrl' in parsed) {
      return parsed.event === 'listening' && typeof parsed.baseUrl === 'string' ? parsed.baseUrl : undefined;
    }
  } catch {
    // Not the status line; the server writes nothing else to stdout, but stay lenient.
  }
  return undefined;
}

/** SIGTERM, then SIGKILL if the process has not exited after a grace period; resolves once it has exited. */
function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
