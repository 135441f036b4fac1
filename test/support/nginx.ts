/**
 * A local nginx (Debian package `nginx`) as the load balancer in front of replicas: run in the
 * foreground as a child process with its own prefix directory, so stop() (or the parent's exit)
 * ends it. Each `balancers` entry is one listen port over its own upstream group.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopProcess } from './child-process.ts';

export interface Balancer {
  readonly port: number;
  readonly upstreams: readonly number[];
}

export interface Nginx {
  stop(): Promise<void>;
}

export function nginxBinary(): string {
  const bin = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
  if (!bin) {
    throw new Error('nginx not found: install the Debian nginx package (apt-get install -y nginx)');
  }
  return bin;
}

/**
 * Round robin over fresh connections: a refused connection moves the request to the next replica
 * (it never reached one); a request already sent is not retried (a POST may have been applied).
 * No upstream keepalive: a pooled connection to a replica that just died would fail a new request
 * that had never reached it.
 */
export function nginxConfig(dir: string, balancers: readonly Balancer[], asRoot: boolean): string {
  const groups = balancers.map(
    (b, i) => `  upstream replicas_${i} {
${b.upstreams.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=5s;`).join('\n')}
  }
  server {
    listen 127.0.0.1:${b.port};
    client_max_body_size 25m;
    location / {
      proxy_pass http://replicas_${i};
      proxy_next_upstream error timeout;
      proxy_read_timeout 30s;
      add_header X-Upstream-Addr $upstream_addr always;
    }
  }`,
  );
  return `${asRoot ? 'user nobody nogroup;\n' : ''}daemon off;
master_process on;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'client_body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
${groups.join('\n')}
}
`;
}

export async function startNginx(balancers: readonly Balancer[]): Promise<Nginx> {
  const bin = nginxBinary();
  const dir = await mkdtemp(join(tmpdir(), 'bcc-cds-nginx-'));
  // Workers run as nobody when the master is root: they must reach the temp directories.
  await chmod(dir, 0o755);
  const conf = join(dir, 'nginx.conf');
  await writeFile(conf, nginxConfig(dir, balancers, process.getuid?.() === 0));
  const check = spawnSync(bin, ['-t', '-q', '-p', dir, '-c', conf], { encoding: 'utf8' });
  if (check.status !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`nginx -t: ${check.stderr}`);
  }
  const child: ChildProcess = spawn(bin, ['-p', dir, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitForPorts(balancers.map((b) => b.port), child, () => stderr);
  return {
    async stop() {
      process.removeListener('exit', killOnExit);
      // SIGTERM: fast shutdown of master and workers.
      await stopProcess(child);
      const log = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
      await rm(dir, { recursive: true, force: true });
      if (/\[(emerg|alert|crit)\]/.test(log)) {
        process.stderr.write(`nginx error log:\n${log}\n`);
      }
    },
  };
}

async function waitForPorts(ports: readonly number[], child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (const port of ports) {
    for (;;) {
      if (child.exitCode !== null) {
        throw new Error(`nginx exited: ${stderr()}`);
      }
      const ok = await fetch(`http://127.0.0.1:${port}/nginx-probe`).then(
        () => true,
        () => false,
      );
      if (ok) {
        break;
      }
      if (Date.now() > deadline) {
        throw new Error(`nginx did not listen on ${port}: ${stderr()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
