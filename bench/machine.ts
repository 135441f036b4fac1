import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { PROJECT_ROOT } from '../src/config.ts';

/** What the numbers belong to: absolute times only compare on the same machine and commit. */
export interface MachineInfo {
  readonly cores: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
  readonly commit: string;
  /** The working tree had uncommitted changes when the bench ran. */
  readonly dirty: boolean;
  readonly uvThreadpoolSize: string;
}

function git(args: readonly string[]): string {
  try {
    return execFileSync('git', args, { cwd: PROJECT_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

export function describeMachine(): MachineInfo {
  const cpu = cpus();
  return {
    cores: cpu.length,
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    commit: git(['rev-parse', '--short=12', 'HEAD']) || 'unknown',
    dirty: git(['status', '--porcelain', '--untracked-files=no']) !== '',
    uvThreadpoolSize: process.env.UV_THREADPOOL_SIZE ?? 'default (4)',
  };
}
