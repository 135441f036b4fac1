/**
 * A throwaway PostgreSQL cluster from the Debian binaries (package `postgresql`), in a temp dir, on
 * a free loopback port, TCP only. initdb refuses to run as root, so as root (CI, this machine) the
 * cluster belongs to the `postgres` user the package creates. Stopped by stop(), and on process exit
 * as a last resort, so no server outlives the tests or the scale script.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freeLoopbackPort } from './free-port.ts';

const DEBIAN_PG = '/usr/lib/postgresql';

export interface PostgresCluster {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  readonly url: string;
  readonly port: number;
  /** A fresh, empty database on this cluster; its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

/** The newest installed server's bin directory; fails saying what to install. */
export function postgresBinDir(): string {
  const versions = existsSync(DEBIAN_PG)
    ? readdirSync(DEBIAN_PG)
        .filter((v) => existsSync(join(DEBIAN_PG, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const v = versions[0];
  if (v === undefined) {
    throw new Error(`no PostgreSQL server binaries under ${DEBIAN_PG}/*/bin: install the Debian postgresql package (apt-get install -y postgresql)`);
  }
  return join(DEBIAN_PG, v, 'bin');
}

export async function startPostgres(): Promise<PostgresCluster> {
  const bin = postgresBinDir();
  const dir = await mkdtemp(join(tmpdir(), 'bcc-cds-pg-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    await chown(dir, uid, gid);
  }
  const run = (tool: string, args: readonly string[]): void => {
    const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]] : [join(bin, tool), [...args]];
    const r = spawnSync(cmd, argv, { encoding: 'utf8' });
    if (r.status !== 0) {
      throw new Error(`${tool} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`);
    }
  };
  const stopNow = (): void => {
    if (existsSync(join(data, 'postmaster.pid'))) {
      const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop']] : [join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']];
      spawnSync(cmd, argv, { stdio: 'ignore' });
    }
  };
  let port = 0;
  try {
    run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    port = await freeLoopbackPort();
    // TCP on loopback only (no socket file to place), and no fsync: the data is thrown away.
    const opts = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
    run('pg_ctl', ['-D', data, '-o', opts, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  } catch (err) {
    stopNow();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  // A test runner that dies before stop() must not leave the server behind.
  process.once('exit', stopNow);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    async createDatabase(name) {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
      } finally {
        await c.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(name)}`;
    },
    async stop() {
      process.removeListener('exit', stopNow);
      stopNow();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
