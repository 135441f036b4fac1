/**
 * Starts src/sandbox/fhir-server/main.ts as a separate process, as integration tests need a FHIR server that
 * shares nothing (module state, Medplum's global schema) with the code under test.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { PROJECT_ROOT } from '../../src/config.ts';
import { listeningBaseUrl, stopProcess } from './child-process.ts';

export interface FhirServerProcess {
  readonly baseUrl: string;
  stop(): Promise<void>;
}

/** Loading the R4 definitions takes a few seconds; a cold tsx cache and a busy CI machine take more. */
const START_TIMEOUT_MS = 60_000;
const STDERR_KEEP = 8_000;

export async function startFhirServerProcess(): Promise<FhirServerProcess> {
  const child = spawn(process.execPath, ['--experimental-websocket', '--import', 'tsx', 'src/sandbox/fhir-server/main.ts'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
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
    const timer = setTimeout(() => { fail(`did not report listening within ${START_TIMEOUT_MS} ms`); }, START_TIMEOUT_MS);
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => { fail(`exited before listening (code ${code}, signal ${signal})`); };
    const onError = (err: Error): void => { fail(`could not start: ${err.message}`); };
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


