/**
 * Debian's nginx (worker_processes 1, its own config in a temp dir) in front
 * of a Node HTTP backend, on loopback: an HTTP server block proxying to the
 * backend, and an HTTPS one (a self-signed certificate made with openssl)
 * proxying to it too. The backend answers /ok 200, /slow 200 after 150 ms,
 * /fail 500, /hang never (until its client goes), anything else 404; nginx
 * itself answers /local 200 without the backend.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port.js';

export { freePort };

/** A running stack; stop() kills everything and removes the directory. */
export interface NginxStack {
  readonly httpPort: number;
  readonly httpsPort: number;
  readonly backendPort: number;
  readonly master: number;
  readonly worker: number;
  readonly backend: number;
  stop(): Promise<void>;
}


const BACKEND = `
const http = require('node:http');
const srv = http.createServer((req, res) => {
  const path = req.url.split('?')[0];
  if (path === '/ok') return res.end('ok');
  if (path === '/slow') return setTimeout(() => res.end('slow'), 150);
  if (path === '/fail') { res.statusCode = 500; return res.end('fail'); }
  if (path === '/hang') return;
  res.statusCode = 404;
  res.end('missing');
});
srv.keepAliveTimeout = 60000;
srv.listen(Number(process.argv[1]), '127.0.0.1', () => console.log('listening'));
`;

function waitExit(c: ChildProcess): Promise<void> {
  return c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', () => r()));
}

/** Starts the backend and nginx and waits until both answer. */
export async function startNginxStack(): Promise<NginxStack> {
  const dir = mkdtempSync(join(tmpdir(), 'meshprof-net-'));
  const [httpPort, httpsPort, backendPort] = [await freePort(), await freePort(), await freePort()];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  const backend = spawn(process.execPath, ['-e', BACKEND, String(backendPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    backend.stdout!.once('data', () => resolve());
    backend.once('exit', (code) => reject(new Error(`backend exited (${code}) before listening`)));
  });
  const conf = join(dir, 'nginx.conf');
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${dir};`).join(' ');
  writeFileSync(conf, `daemon off; master_process on; worker_processes 1; error_log stderr crit; pid ${join(dir, 'nginx.pid')};
events {}
http { access_log off; ${temp}
  upstream backend { server 127.0.0.1:${backendPort}; keepalive 16; }
  server { listen 127.0.0.1:${httpPort};
    location /local { return 200 'local'; }
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; } }
  server { listen 127.0.0.1:${httpsPort} ssl; ssl_certificate ${join(dir, 'cert.pem')}; ssl_certificate_key ${join(dir, 'key.pem')};
    location /local { return 200 'local'; }
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
`);
  const master = spawn('/usr/sbin/nginx', ['-c', conf, '-p', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  let worker = 0;
  for (let i = 0; i < 100 && worker === 0; i++) {
    await sleep(100);
    try {
      worker = Number(readFileSync(`/proc/${master.pid}/task/${master.pid}/children`, 'utf8').trim().split(' ')[0] || 0);
    } catch { /* not yet */ }
  }
  const stop = async (): Promise<void> => {
    master.kill('SIGKILL');
    backend.kill('SIGKILL');
    if (worker) {
      try { process.kill(worker, 'SIGKILL'); } catch { /* already gone */ }
    }
    await Promise.all([waitExit(master), waitExit(backend)]);
    rmSync(dir, { recursive: true, force: true });
  };
  if (worker === 0) {
    await stop();
    throw new Error('starting nginx: no worker process appeared');
  }
  return { httpPort, httpsPort, backendPort, master: master.pid!, worker, backend: backend.pid!, stop };
}
