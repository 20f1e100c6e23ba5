/**
 * One configuration of the scenario's mesh on loopback: Debian's nginx as
 * the sidecar stand-in (one worker, access log long, short or off) in front
 * of the traced Node.js service, both started inside the CPU budget. The
 * access log goes where a sidecar's goes in Kubernetes, to stdout: a FIFO
 * that a log shipper (log-shipper.ts, outside the budget, as containerd is
 * outside the pod's) reads at a bounded rate into a CRI log file.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CpuBudget } from './cpu-budget.js';
import { freePort } from '../free-port.js';

/** Access log settings, as the issue names them. */
export type AccessLog = 'default' | 'short' | 'off';

/** A long format in JSON, as Istio's and Envoy's default access logs are: many fields, each escaped. */
const LONG_FORMAT = `escape=json '{"start_time":"$time_iso8601","method":"$request_method","path":"$request_uri",` +
  `"protocol":"$server_protocol","response_code":"$status","bytes_received":"$request_length","bytes_sent":"$bytes_sent",` +
  `"duration":"$request_time","upstream_service_time":"$upstream_response_time","x_forwarded_for":"$http_x_forwarded_for",` +
  `"user_agent":"$http_user_agent","request_id":"$request_id","authority":"$host","upstream_host":"$upstream_addr",` +
  `"upstream_status":"$upstream_status","downstream_remote_address":"$remote_addr:$remote_port",` +
  `"downstream_local_address":"$server_addr:$server_port","connection":"$connection","requests":"$connection_requests","msec":"$msec"}'`;
const SHORT_FORMAT = `'$status $request_time'`;

/** A running mesh. */
export interface Mesh {
  readonly proxyPort: number;
  /** The nginx worker (the one process that handles requests) and the service. */
  readonly proxyPid: number;
  readonly servicePid: number;
  /** The log file the shipper writes (CRI format), where the access log ends up. */
  readonly accessLogPath: string;
  accessLogBytes(): number;
  stop(): Promise<void>;
}


function waitFor(child: ChildProcess, text: string, what: string): Promise<void> {
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (out.includes(text)) resolve(); });
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}) before it was ready: ${out}`)));
  });
}

function exited(c: ChildProcess): Promise<void> {
  return c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', () => r()));
}

/** Starts service and proxy for one configuration and waits until a request passes through both. */
/**
 * How the shipper reads the access log (see log-shipper.ts): 4 KiB, as
 * containerd's CRI logger reads, then 1 ms of pause, about 3 MB/s, above
 * what the long format writes at this mesh's 1-4K requests a second; and a
 * 200 ms stall every 800 ms. At 500 requests a second or more the long
 * format fills the FIFO's 64 KiB in one stall, the short one never.
 */
export const SHIPPER = { chunkBytes: 4_096, pauseMs: 1, stallEveryMs: 800, stallMs: 200 } as const;

export async function startMesh(opts: { sampling: number | 'off'; accessLog: AccessLog; otlpPort: number; budget: CpuBudget; serviceScript: string; shipperScript: string }): Promise<Mesh> {
  const dir = mkdtempSync(join(tmpdir(), 'meshprof-scenario-'));
  const [proxyPort, servicePort] = [await freePort(), await freePort()];
  // --perf-basic-prof: a perf map meshprof names JavaScript frames with; interpreted
  // functions get frames of their own; code never moved, so the map stays true.
  const [cmd, ...args] = opts.budget.wrap([process.execPath, '--perf-basic-prof', '--interpreted-frames-native-stack', '--no-compact-code-space', opts.serviceScript, String(servicePort), String(opts.sampling), String(opts.otlpPort)]);
  const service = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' } });
  await waitFor(service, 'listening', 'the service');

  const accessLogPath = join(dir, 'access.log');
  // The container's stdout: a FIFO, as containerd makes one for each container's stdio.
  const stdout = join(dir, 'stdout');
  let shipper: ChildProcess | undefined;
  if (opts.accessLog !== 'off') {
    execFileSync('mkfifo', [stdout]);
    shipper = spawn(process.execPath, [opts.shipperScript, stdout, accessLogPath, String(SHIPPER.chunkBytes), String(SHIPPER.pauseMs), String(SHIPPER.stallEveryMs), String(SHIPPER.stallMs)], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const log = opts.accessLog === 'off' ? 'access_log off;' : `log_format scenario ${opts.accessLog === 'default' ? LONG_FORMAT : SHORT_FORMAT}; access_log ${stdout} scenario;`;
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${dir};`).join(' ');
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, `daemon off; master_process on; worker_processes 1; error_log stderr crit; pid ${join(dir, 'nginx.pid')};
events { worker_connections 1024; }
http { ${log} ${temp}
  upstream service { server 127.0.0.1:${servicePort}; keepalive 64; }
  server { listen 127.0.0.1:${proxyPort} backlog=1024;
    location / { proxy_pass http://service; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
`);
  const [ncmd, ...nargs] = opts.budget.wrap(['/usr/sbin/nginx', '-c', conf, '-p', dir]);
  const nginx = spawn(ncmd!, nargs, { stdio: ['ignore', 'ignore', 'inherit'] });
  const abandon = async (err: Error): Promise<never> => {
    for (const c of [nginx, service, shipper]) c?.kill('SIGKILL');
    await Promise.all([nginx, service, ...(shipper ? [shipper] : [])].map(exited));
    rmSync(dir, { recursive: true, force: true });
    throw err;
  };
  // nginx's master opens the log before it forks the worker, and opening a
  // FIFO waits for its reader: the worker comes once the shipper is up, which
  // on a loaded host takes seconds.
  let worker = 0;
  for (let i = 0; i < 600 && worker === 0; i++) {
    await sleep(100);
    if (nginx.exitCode !== null || nginx.signalCode !== null) return abandon(new Error(`starting nginx: it exited (${nginx.exitCode ?? nginx.signalCode}) before its worker started`));
    if (shipper !== undefined && (shipper.exitCode !== null || shipper.signalCode !== null)) {
      return abandon(new Error(`starting the log shipper: it exited (${shipper.exitCode ?? shipper.signalCode}) before nginx opened its FIFO`));
    }
    try {
      const children = readFileSync(`/proc/${nginx.pid}/task/${nginx.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      worker = Number(children[0] ?? 0);
    } catch { /* not up yet */ }
  }
  if (worker === 0) return abandon(new Error('starting nginx: no worker process after 60 s'));
  for (let i = 0; ; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${proxyPort}/items`);
      if (res.ok) { await res.text(); break; }
    } catch (err) {
      if (i >= 50) return abandon(new Error(`the mesh does not answer on ${proxyPort}: ${err instanceof Error ? err.message : String(err)}`));
    }
    await sleep(100);
  }
  return {
    proxyPort, proxyPid: worker, servicePid: service.pid!, accessLogPath,
    accessLogBytes: () => { try { return statSync(accessLogPath).size; } catch { return 0; } },
    stop: async () => {
      nginx.kill('SIGTERM');
      service.kill('SIGTERM');
      await Promise.all([exited(nginx), exited(service)]);
      if (shipper !== undefined) {
        // It ends at end of file, once nginx has closed the FIFO; one that never saw nginx open it would wait for ever.
        const stuck = setTimeout(() => shipper.kill('SIGKILL'), 10_000);
        await exited(shipper);
        clearTimeout(stuck);
      }
      rmSync(dir, { recursive: true, force: true });
      // V8 leaves the perf map it wrote for --perf-basic-prof behind.
      rmSync(`/tmp/perf-${service.pid}.map`, { force: true });
    },
  };
}
