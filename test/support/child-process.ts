/** Shared by test/support/fhir-process.ts and bench/: the servers' listening line and a clean stop. */
import type { ChildProcess } from 'node:child_process';

const STOP_GRACE_MS = 5_000;

/** The base URL from `{"event":"listening","baseUrl":...}`, the one stdout line a server process writes. */
export function listeningBaseUrl(line: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed === 'object' && parsed !== null && 'event' in parsed && 'baseUrl' in parsed) {
      return parsed.event === 'listening' && typeof parsed.baseUrl === 'string' ? parsed.baseUrl : undefined;
    }
  } catch {
    // Not the status line; stay lenient.
  }
  return undefined;
}

/** SIGTERM, then SIGKILL if the process has not exited after a grace period; resolves once it has exited. */
export function stopProcess(child: ChildProcess): Promise<void> {
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
