// nginx (Debian's package) as a reverse proxy peer: found on PATH or in
// /usr/sbin, configured in a temporary folder, run in the foreground.
import { accessSync, chmodSync, constants, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort, peerOwningDir, spawnPeer, type Peer } from '../harness.js';

export function findNginx(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin'];
  for (const dir of dirs) {
    const file = join(dir, 'nginx');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

function nginxConf(dir: string, port: number, upstream: URL): string {
  return `daemon off;
master_process on;
# One worker, as the Node peers each have one thread.
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  # Debian's compiled-in temp paths are not writable by everyone.
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  # A 64 KB answer stays in memory, never in a temp file.
  proxy_buffers 16 16k;
  proxy_max_temp_file_size 0;
  upstream erp {
    server ${upstream.host};
    keepalive 32;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://erp;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
    }
  }
}
`;
}

export async function startNginx(binary: string, upstreamUrl: string): Promise<Peer> {
  const dir = mkdtempSync(join(tmpdir(), 'storegw-bench-nginx-'));
  // Run as root, nginx's workers run as an unprivileged user and must reach this folder.
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'logs'));
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConf(dir, port, new URL(upstreamUrl)));
  return peerOwningDir(dir, spawnPeer({ name: 'nginx', command: binary, args: ['-c', conf, '-p', `${dir}/`], readyPort: port }));
}
